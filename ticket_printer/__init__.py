"""ESC/POS ticket and receipt printing: layout (Pillow), printers (python-escpos), the MQTT daemon.

Tickets and receipts are printed as pictures so that Vietnamese comes out right on any printer.
`layout` and `jobs` are pure; `printer` is the hardware edge; `daemon` ties them to MQTT.
"""
