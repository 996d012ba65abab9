"""Users, conversations, knowledge, coalitions and system logs."""
