"""The HL7 v2 door of the charges service: DFT^P03 in over MLLP, an original-mode ACK out.

Pure (no broker, database or web library, an import contract): ``codec`` (tokenizer, escaping,
the MSH header, errors located by segment and field), ``mapping`` (a DFT^P03 -> intake events
in their JSON form), ``ack`` (the ACK message) and ``defaults`` (what a feed does not carry).
The adapter: ``mllp`` (framing, and the door: validate, queue through ``service.doors``, answer).
"""
