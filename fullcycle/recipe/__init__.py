"""The autopilot: the recipe's next move, one knob at a time."""
