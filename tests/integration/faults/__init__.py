"""Faults injected into a real publish and a real site: what fails, what it says, how a re-run recovers."""
