"""Built-in rules: one drift class per module, each registered as a plugin."""
