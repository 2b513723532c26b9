"""The training loop over any nn.Module, its events, losses, optimizers, schedules, penalties."""
