"""The event queue: scenarios, events, claims, engines and execution logs."""
