"""The chaos/partition suite: run faults against real agents (`meshchaos run`), record a
Jepsen-style history, and check it (`meshchaos check`). See docs/chaos.md."""
