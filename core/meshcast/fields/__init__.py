"""Neural fields: hash-grid encoding, SDF and density networks, background models."""
