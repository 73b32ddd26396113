"""Each role on its own: Molecule scenarios, the bad-input table and the roles tested against the lab's cluster."""
