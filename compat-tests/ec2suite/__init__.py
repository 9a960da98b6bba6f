"""The EC2 compatibility suite runner behind `compat-tests/run-ec2-suite` (see cli.py)."""
