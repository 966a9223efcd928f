"""OpenADR 2.0b VEN (openleadr): dispatch events from a VTN into the twin's live signals."""
