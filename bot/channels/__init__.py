"""Rasa input channels of our own, each loadable from ``credentials.yml`` by class path.

* ``bot.channels.rest.ClinicRestInput`` — REST, ``POST /webhooks/rest/webhook``
* ``bot.channels.socketio.ClinicSocketIOInput`` — socket.io at ``/socket.io``
* ``bot.channels.twilio.TwilioTwimlInput`` — SMS, ``POST /webhooks/twilio/webhook``

All of them pass patient text through :func:`bot.channels.text.clean_incoming_text`.
"""
