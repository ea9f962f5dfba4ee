"""What the operator configured: the config file, rule options, waivers,
baselines, rule selection, and the policy that combines them for one run."""
