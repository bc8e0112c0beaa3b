"""Cases: one application fanned out to every department, legal clocks, and who acted."""
