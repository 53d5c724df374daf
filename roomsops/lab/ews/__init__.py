"""The lab's Exchange Web Services (POST /EWS/Exchange.asmx): calendars, meeting delivery, sync, notifications.

One small module per operation family, like exchangelib's one module per EWS operation. Deliberately imports
nothing here: `roomsops.lab.tenant` imports `roomsops.lab.ews.store`, and a heavy package init would be a cycle.
"""
