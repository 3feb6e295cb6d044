"""Connection states hash by identity (pbx.states): still sound dictionary keys."""

from __future__ import annotations

import copy
import pickle

from cstaserver.pbx.calls import TRANSITIONS
from cstaserver.pbx.states import ConnectionState


def test_a_state_equals_only_itself() -> None:
    # the identity hash is consistent only while no other value compares equal to a member
    for state in ConnectionState:
        assert state != state.value
        assert [other for other in ConnectionState if other == state] == [state]


def test_copied_and_unpickled_states_find_their_entries() -> None:
    table = {state: state.value for state in ConnectionState}
    for state in ConnectionState:
        assert table[pickle.loads(pickle.dumps(state))] == state.value
        assert table[copy.deepcopy(state)] == state.value
        assert ConnectionState(state.value) in table


def test_the_transition_table_answers_for_every_state() -> None:
    assert set(TRANSITIONS) == set(ConnectionState)
    assert ConnectionState.ALERTING in TRANSITIONS[ConnectionState.NULL]
    assert ConnectionState.NULL not in TRANSITIONS[ConnectionState.NULL]
