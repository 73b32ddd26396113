"""The whole site on the lab: shipped inventories' choices, the lifecycle (upgrade, reset), security, verify."""
