"""The three sources DECNET keeps: its state file, its database and the
Docker engine. Each module reads one of them, and only reads."""
