"""The test harness shared by every test folder."""
