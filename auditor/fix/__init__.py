"""``--fix`` and ``undo``: planning changes, writing them (one journaled
transaction), removing containers, and putting a journal back."""
