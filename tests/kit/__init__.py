"""Test builders shared by every test folder: fleets, CLI runs, fix pools,
report fixtures and the call counter."""
