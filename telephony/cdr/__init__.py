"""Durable call records: the CDRs FreeSWITCH posts with mod_json_cdr, stored raw and
reconciled with the call records the event stream wrote (see :mod:`telephony.cdr.services`)."""
