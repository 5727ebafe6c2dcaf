"""Supervision: the supervisor wallboard, call recordings and live-call supervision
(listen, whisper, barge in, force hang-up). A plain package inside the telephony app: its
models (permission-carrying proxies of :class:`~telephony.models.Call`) belong to the
``telephony`` app label and are imported at the bottom of ``telephony/models.py``.
"""
