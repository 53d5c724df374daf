"""The lab's Microsoft Graph face: /v1.0/ calendars on the same store as EWS (see service.py, FIDELITY.md "Graph")."""
