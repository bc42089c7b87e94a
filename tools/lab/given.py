"""Tests of a chapter that may pass on that chapter's starter: they test code the starter
gives (lab-only: tools/check-lab reads it). Every other test of the chapter must fail on
the stubs, or it would give credit for nothing.
"""

GIVEN = {
    "ch01": (),
    "ch02": (),
    "ch03": (),
    "ch04": (),
    "ch05": (),
    "ch06": (),
}
