"""Training neural fields on a scene: configs, data, the step, checkpoints and runs."""
