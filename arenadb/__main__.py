from arenadb.cli import main

main()
