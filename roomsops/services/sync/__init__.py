"""The booking ⇄ calendar sync: reconciliation (engine) over a small calendar interface (backend)."""
