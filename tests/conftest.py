"""Shared by every test folder: this file puts ``tests/`` on the import path, for `wire_samples`."""
