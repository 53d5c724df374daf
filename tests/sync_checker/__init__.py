"""The randomized, model-based sync checker (issue 19, Deliver 8): hypothesis drives random sequences of ROOMS
edits, Outlook edits, room answers, faults, SIGKILLs and sync passes against a real lab and the real
`roomsops sync`, and checks the invariants I1–I6 against the lab's own calendars and the database after every
pass. docs/sync-checker.md says what it generates, what it checks and how to replay a failure."""
