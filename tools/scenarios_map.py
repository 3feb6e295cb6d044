"""The ECMA TR/82 scenario index: every clause, and the tests that reproduce it or why none does.

This is the one place to edit; ``tools/scenarios.py`` (``make scenarios``) writes
``docs/scenarios.md`` from it, and ``tests/test_scenarios_doc.py`` checks that every test
named here exists (its pytest node ID resolves), that every clause has tests or a reason, and
that the document is current.

To add a test to a clause: append its pytest node ID (``path::Class::test`` or
``path::test``; a parametrised test without ``[...]`` stands for all its cases) to ``tests``.
A clause without tests needs a ``reason`` and its ``why`` (:data:`WHY`); a clause with tests
may carry a ``note`` saying what of the scenario its tests do not show.

Sources of the clause list (see :data:`EDITION`): clauses 1 to 8.2 with their titles are the
published contents of ECMA TR/82 2nd edition (June 2009); 8.3 is known to exist, its title
was seen only in part; clauses after it could not be verified. :data:`FAMILIES` lists the
further scenario families this exchange models (and those not yet modelled) by subject,
without clause numbers, until the remaining contents can be checked against the report.
"""

from __future__ import annotations

import attrs

EDITION = "ECMA TR/82, 2nd edition, June 2009"

#: Why a clause has no test, by ``why`` key.
WHY = {
    "no-scenario": "no scenario",
    "not-applicable": "not applicable to MX-ONE",
    "not-modelled": "not modelled",
    "not-yet": "not yet modelled",
    "unverified": "title not verified",
}


@attrs.frozen
class Clause:
    """One scenario: its TR/82 clause (``None``: a family whose clause is not verified)."""

    key: str
    title: str
    tests: tuple[str, ...] = ()
    why: str = ""
    reason: str = ""
    note: str = ""
    clause: str | None = attrs.field(default=None)

    @property
    def status(self) -> str:
        if self.tests:
            return "partly reproduced" if self.note else "reproduced"
        return WHY.get(self.why, self.why)


def _c(number: str, title: str, *tests: str, **rest: str) -> Clause:
    return Clause(key=number, clause=number, title=title, tests=tests, **rest)


def _f(key: str, title: str, *tests: str, **rest: str) -> Clause:
    return Clause(key=key, title=title, tests=tests, **rest)


# Node ID prefixes, to keep the table readable.
BASIC = "tests/pbx/test_pbx_basic_call.py::"
DEVICES = "tests/pbx/test_pbx_devices.py::"
NETWORK = "tests/pbx/test_pbx_network.py::"
FEATURES = "tests/pbx/test_pbx_call_features.py::"
EXT = "tests/pbx/test_pbx_extension_features.py::"
FORWARD = "tests/pbx/test_pbx_forwarding.py::"
GROUPS = "tests/pbx/test_pbx_groups.py::"
CENTRE = "tests/pbx/test_pbx_call_centre.py::"
XML = "tests/xmlproto/test_xml_scenarios.py::"
XML_FEATURES = "tests/xmlproto/test_xml_call_features.py::"
LOOPBACK = "tests/xmlproto/test_xml_loopback_services.py::LoopbackServiceTests::"
LYNC = "tests/sip/test_tr87_features.py::LyncFeaturesTcp::"
LYNC_LINES = "tests/sip/test_tr87_lines.py::LyncLinesTcp::"
API = "tests/api/test_api_actions.py::"
PICKUP = "tests/pbx/test_pbx_pickup_park.py::"
XML_PICKUP = "tests/xmlproto/test_xml_pickup_park.py::"
HANDSET = "tests/pbx/test_pbx_handset.py::"
HANDSET_PICKUP = "tests/pbx/test_pbx_handset_pickup_park.py::"
LYNC_PICKUP = "tests/sip/test_tr87_call_features.py::LyncCallFeaturesTcp::"
SOAP_PICKUP = "tests/soap/test_soap_call_features.py::SoapCallFeatures::"

_FRONT = "front matter of the report, no call scenario"
_BLOCKED = (
    "when one party of a two-party call leaves, the simulated exchange clears the other "
    "connection too (ECMA-269 clearing of a call with fewer than two parties left); no "
    "connection is left in the blocked state, so this variant cannot occur"
)

CLAUSES: tuple[Clause, ...] = (
    _c("1", "Scope", why="no-scenario", reason=_FRONT),
    _c("2", "Normative references", why="no-scenario", reason=_FRONT),
    _c("3", "Terms and definitions", why="no-scenario", reason=_FRONT),
    # 4 Call Origination Scenarios
    _c(
        "4.1",
        "Make Call service - calling device is prompted to go off-hook",
        BASIC + "test_make_call_prompted",
        DEVICES + "test_analog_cas_and_dect_lines_are_prompted",
        XML + "MakeCallScenarios::test_make_call_prompted",
        LOOPBACK + "test_make_call_from_an_analog_line_is_prompted",
        LYNC_LINES + "test_make_call_from_an_analog_line_is_prompted",
        LYNC_LINES + "test_the_simulated_person_lifts_the_handset_by_itself",
        LYNC_LINES + "test_click_to_dial_from_an_edn_whose_desk_phone_is_busy_prompts_the_handset",
    ),
    _c(
        "4.2",
        "Make Call service - calling device is in hands free mode",
        BASIC + "test_make_call_hands_free",
        XML + "MakeCallScenarios::test_make_call_hands_free",
        LYNC + "test_make_call_answered_and_cleared_far_end",
        "tests/soap/test_soap_example.py::ExampleTests::test_example_places_a_call_and_clears_it",
    ),
    _c(
        "4.3",
        "Make Call service - calling device is already off-hook",
        BASIC + "test_make_call_already_off_hook",
        XML_FEATURES
        + "DialledDigitsAndCallInformationOverXml"
        + "::test_make_call_with_call_data_from_an_off_hook_device",
    ),
    _c(
        "4.4",
        "Manually dialled call",
        BASIC + "test_manual_dial",
        XML_FEATURES + "DialledDigitsAndCallInformationOverXml::test_a_terminal_dials",
        API + "test_dial_answers_with_the_call_and_the_device",
    ),
    _c(
        "4.5",
        "Manually dialled call showing individual digits dialled",
        BASIC + "test_manual_dial",
        EXT + "test_digits_dialled_only_at_the_dialling_device",
        HANDSET + "test_off_hook_then_dial_digit_by_digit",
        HANDSET + "test_dial_from_on_hook_goes_off_hook_first",
    ),
    _c(
        "4.6",
        "Dialling using Dial Digits service",
        why="not-modelled",
        reason=(
            "the server offers no Dial Digits service (it is not in GetCSTAFeatures): a number "
            "is given whole to Make Call or dialled at the handset; digits sent during a call "
            "are Generate Digits (DTMF, see the families below)"
        ),
    ),
    _c(
        "4.7",
        "Multi-stage dialling",
        why="not-modelled",
        reason=(
            "a person at a simulated phone dials key by key and an outside number is routed "
            "after the interdigit time (tests/pbx/test_pbx_handset.py), but there is no second "
            "dial tone and no Dial Digits service to continue a call in stages from CSTA"
        ),
    ),
    _c(
        "4.8",
        "Make Call service - called device is busy",
        BASIC + "test_called_busy",
        BASIC + "test_called_busy_in_a_call",
        XML + "MakeCallScenarios::test_called_busy",
    ),
    _c(
        "4.9",
        "Make Call service - call attempted to a busy calling device (negative acknowledgement)",
        BASIC + "test_calling_device_busy_refused",
    ),
    _c(
        "4.10",
        "Make Call service - called number is an invalid number (negative acknowledgement)",
        BASIC + "test_invalid_number_refused",
        XML + "MakeCallScenarios::test_make_call_to_an_invalid_number_is_refused",
    ),
    _c(
        "4.11",
        "Manually dialled call - dialled number is invalid",
        BASIC + "test_invalid_number_manually_dialled",
        XML + "MakeCallScenarios::test_invalid_number",
    ),
    # 5 Answering Call Scenarios
    _c(
        "5.1",
        "Answer Call service",
        BASIC + "test_answer_by_service",
        XML + "AnswerAndClearScenarios::test_answer_by_service_and_manually",
        LYNC + "test_answer_and_clear",
        LYNC_LINES + "test_a_call_to_an_edn_line_rings_both_phones_and_lync_answers_it",
    ),
    _c(
        "5.2",
        "Manually answering a call",
        BASIC + "test_answer_manually",
        XML + "AnswerAndClearScenarios::test_answer_by_service_and_manually",
        API + "test_answer_and_hang_up",
    ),
    # 6 Call and Connection Termination Scenarios
    _c(
        "6.1",
        "Device disconnects from a call by going on-hook (remaining device is cleared from "
        "the call)",
        BASIC + "test_clearing_by_on_hook",
        XML + "AnswerAndClearScenarios::test_clear_by_on_hook",
    ),
    _c(
        "6.2",
        "Device disconnects from a call by going on-hook (remaining device goes blocked)",
        why="not-modelled",
        reason=_BLOCKED,
    ),
    _c(
        "6.3",
        "Device disconnects from a call using the Clear Connection service (remaining device "
        "is cleared)",
        BASIC + "test_clearing_by_clear_connection",
        LOOPBACK + "test_make_call_answer_clear_connection",
        LYNC + "test_answer_and_clear",
    ),
    _c(
        "6.4",
        "Device disconnects from a call using the Clear Connection service (remaining device "
        "goes blocked)",
        why="not-modelled",
        reason=_BLOCKED,
    ),
    _c(
        "6.5",
        "Device disconnects from a conference call using the Clear Connection service",
        XML + "AnswerAndClearScenarios::test_clear_connection_in_a_conference_keeps_the_others",
        LYNC + "test_leaving_a_conference_keeps_the_others_talking",
    ),
    _c(
        "6.6",
        "Clearing a two-party call using the Clear Call service",
        BASIC + "test_clear_call",
        XML + "AnswerAndClearScenarios::test_clear_call",
        LYNC + "test_clear_call",
    ),
    _c(
        "6.7",
        "Clearing a conference call using the Clear Call service",
        FEATURES + "test_clear_call_of_conference",
    ),
    _c(
        "6.8",
        "Call is cleared after an alerting time-out",
        BASIC + "test_alerting_time_out",
        XML + "MakeCallScenarios::test_alerting_time_out",
        LYNC_LINES + "test_a_prompt_nobody_answers_clears_the_call",
    ),
    # 7 External Outgoing Call Scenarios
    _c(
        "7.1",
        "Make Call service - called device is outside the CSTA sub-domain",
        NETWORK + "test_outgoing_external_answered",
        XML + "ExternalScenarios::test_outgoing_external_answered",
    ),
    _c(
        "7.2",
        "Manually dialled call to a device outside the CSTA sub-domain",
        NETWORK + "test_outgoing_external_dialled_manually",
    ),
    _c(
        "7.3",
        "Make Call service - busy called device is outside the CSTA sub-domain",
        NETWORK + "test_outgoing_external_busy",
        XML + "ExternalScenarios::test_outgoing_external_busy",
    ),
    # 8 External Incoming Call Scenarios
    _c(
        "8.1",
        "External incoming call (no network information)",
        why="not-modelled",
        reason=(
            "every outside call of the simulated exchange arrives on a trunk that carries the "
            "calling and called numbers (8.2); a trunk without them is not modelled. A caller "
            "who withholds the number is modelled (restricted, see the families below), which "
            "is not the same scenario"
        ),
    ),
    _c(
        "8.2",
        "External incoming call (with network information)",
        NETWORK + "test_incoming_external",
        "tests/pbx/test_pbx_predictive.py::"
        "test_an_outside_call_has_its_network_called_device_and_trunk",
        "tests/csta/test_call_features_wire.py::"
        "test_a_caller_with_its_number_is_named_and_the_trunk_only_associated",
        XML + "ExternalScenarios::test_incoming_external",
    ),
    _c(
        "8.3",
        "External incoming call (further variant; title seen only as 'Exter...')",
        why="unverified",
        reason=(
            "the clause exists in the contents of the 2nd edition but its full title could "
            "not be read, so no test is claimed for it"
        ),
    ),
)

#: Scenario families beyond clause 8.3, by subject (their clause numbers are not verified).
FAMILIES: tuple[Clause, ...] = (
    _f(
        "hold",
        "Hold Call and Retrieve Call",
        BASIC + "test_hold_and_retrieve",
        XML + "FeatureScenarios::test_hold_retrieve_seen_by_both_parties",
        LYNC + "test_hold_and_retrieve",
        API + "test_hold_and_retrieve",
    ),
    _f(
        "consultation",
        "Consultation Call",
        FEATURES + "test_consultation_call",
        LYNC + "test_consultation_transfer",
    ),
    _f(
        "transfer",
        "Transfer Call (after a consultation, also before the consulted party answers)",
        FEATURES + "test_consultation_then_transfer",
        FEATURES + "test_transfer_before_answer",
        XML + "FeatureScenarios::test_consultation_and_transfer_seen_by_the_transferred_parties",
        LYNC + "test_consultation_transfer",
        API + "test_consultation_then_transfer",
    ),
    _f(
        "transfer-on-hook",
        "Transfer by going on-hook or clearing the consultation (MX-ONE transfer on hang-up)",
        EXT + "test_on_hook_in_a_consultation_transfers",
        XML_FEATURES
        + "TransferOnHangUpOverXml::test_clear_connection_of_the_consultation_transfers",
        LYNC + "test_transfer_by_hanging_up_the_consultation",
    ),
    _f(
        "single-step-transfer",
        "Single Step Transfer Call",
        FEATURES + "test_single_step_transfer",
        FEATURES + "test_single_step_transfer_to_busy",
        LYNC + "test_single_step_transfer",
    ),
    _f(
        "conference",
        "Conference Call (after a consultation)",
        FEATURES + "test_conference",
        XML + "FeatureScenarios::test_conference",
        LYNC + "test_consultation_then_conference",
    ),
    _f(
        "single-step-conference",
        "Single Step Conference Call (a device added to a call)",
        FEATURES + "test_single_step_conference",
        LOOPBACK + "test_single_step_conference",
        PICKUP + "test_single_step_conference_names_the_requesting_party",
        PICKUP + "test_silent_single_step_conference",
        XML_PICKUP + "SingleStepConferenceOverXml::"
        "test_conferencing_device_is_the_requesting_party_and_silent_is_honoured",
        LYNC_PICKUP + "test_single_step_conference_silent",
        SOAP_PICKUP + "test_single_step_conference_silent_and_a_busy_device",
    ),
    _f(
        "alternate",
        "Alternate Call",
        FEATURES + "test_alternate",
        LYNC + "test_alternate_between_held_and_consultation_call",
    ),
    _f(
        "reconnect",
        "Reconnect Call",
        FEATURES + "test_reconnect",
        FEATURES + "test_reconnect_after_consulting_a_busy_party",
        LYNC + "test_reconnect_after_a_consultation",
    ),
    _f(
        "deflect",
        "Deflect Call",
        FEATURES + "test_deflect",
        LYNC + "test_deflect",
    ),
    _f(
        "generate-digits",
        "Generate Digits (DTMF in a connected call)",
        FEATURES + "test_generate_digits",
        LYNC + "test_dtmf",
    ),
    _f(
        "forwarding",
        "Call forwarding: immediate, on busy, on no answer; Set/Get Forwarding",
        FORWARD + "test_forward_immediate",
        FORWARD + "test_forward_on_busy",
        FORWARD + "test_forward_on_no_answer",
        XML + "FeatureScenarios::test_forwarding_immediate",
        LYNC + "test_forward_to_internal_number",
        LYNC + "test_forward_to_external_number",
        LYNC + "test_forward_on_busy",
        LYNC + "test_forward_on_no_answer_after_the_rings_asked_for",
    ),
    _f(
        "do-not-disturb",
        "Do Not Disturb",
        FORWARD + "test_do_not_disturb",
        XML + "FeatureScenarios::test_do_not_disturb",
        LYNC + "test_do_not_disturb",
    ),
    _f(
        "call-waiting",
        "A second call waiting at a busy extension (Delivered, cause campOn)",
        EXT + "test_a_second_call_waits_and_answering_it_holds_the_first",
        XML_FEATURES + "CallWaitingOverXml::test_answer_a_second_call_holds_the_first",
        LYNC + "test_answer_a_waiting_second_call_while_talking",
    ),
    _f(
        "hold-recall",
        "A call left on hold recalls the holder",
        EXT + "test_a_call_left_on_hold_recalls_the_holder",
        XML_FEATURES + "HoldRecallOverXml::test_a_call_left_on_hold_rings_again",
    ),
    _f(
        "withheld",
        "Calling party identity withheld (restricted)",
        EXT + "test_an_outside_caller_withholding_its_number",
        XML_FEATURES
        + "WithheldCallerOverXml::test_the_number_is_restricted_in_events_and_snapshots",
    ),
    _f(
        "message-waiting",
        "Message waiting indicator",
        EXT + "test_message_waiting_indicator",
        XML_FEATURES + "MessageWaitingOverXml::test_set_and_get_message_waiting_indicator",
    ),
    _f(
        "hunt-group",
        "Calls to a hunt group and a cascade ring group",
        GROUPS + "test_hunt_group_sequential",
        GROUPS + "test_cascade_group",
        XML + "GroupScenarios::test_hunt_group_rings_the_first_free_member",
        XML + "GroupScenarios::test_cascade_group_adds_members_in_turn",
    ),
    _f(
        "acd",
        "ACD group: agent states, queueing and distribution",
        GROUPS + "test_agent_states",
        GROUPS + "test_acd_queueing_and_distribution",
        XML + "GroupScenarios::test_acd_outside_call_reaches_an_agent",
        XML + "GroupScenarios::test_acd_queueing_until_an_agent_is_ready",
        LYNC + "test_agent_state_of_a_lync_line",
    ),
    _f(
        "routeing",
        "Routeing by the application (Route Request, Route Select)",
        CENTRE + "test_route_select_sends_the_call_to_the_agent_the_application_chose",
        "tests/xmlproto/test_xml_call_centre.py::CallCentre::test_the_call_centre_case",
    ),
    _f(
        "predictive",
        "Make Predictive Call",
        NETWORK + "test_predictive_call_from_extension",
        LOOPBACK + "test_make_predictive_call",
    ),
    _f(
        "snapshot",
        "Snapshot Device and Snapshot Call",
        BASIC + "test_snapshots",
        LOOPBACK + "test_snapshot_device_and_call",
        LYNC + "test_snapshot_device",
        LYNC + "test_snapshot_call_names_every_party_in_e164",
    ),
    _f(
        "pickup",
        "Call pickup (directed and group)",
        PICKUP + "test_directed_pickup_takes_a_ringing_call_to_the_requesting_device",
        PICKUP + "test_group_pickup_takes_the_oldest_call_ringing_in_the_group",
        XML_PICKUP + "PickupOverXml::test_directed_pickup",
        XML_PICKUP + "PickupOverXml::test_group_pickup_and_its_errors",
        HANDSET_PICKUP + "test_pickup_at_the_handset_takes_the_call_ringing_at_another_phone",
        LYNC_PICKUP + "test_directed_pickup",
        LYNC_PICKUP + "test_group_pickup",
        SOAP_PICKUP + "test_directed_pickup_and_its_refusal",
        SOAP_PICKUP + "test_group_pickup_and_its_refusals",
    ),
    _f(
        "park",
        "Call park",
        PICKUP + "test_park_and_retrieve_by_picking_up_at_the_parked_to_extension",
        PICKUP + "test_an_unretrieved_parked_call_recalls_the_parker",
        XML_PICKUP + "ParkOverXml::test_park_and_retrieve",
        LOOPBACK + "test_park_then_retrieve_by_directed_pickup",
        HANDSET_PICKUP + "test_park_key_then_pickup_at_the_parked_to_extension",
        LYNC_PICKUP + "test_park_then_pickup_from_the_park_position",
        SOAP_PICKUP + "test_park_and_a_bad_park_to",
    ),
    _f(
        "call-back",
        "Call back (completion of calls to a busy or absent party)",
        PICKUP + "test_call_back_on_a_busy_extension_rings_the_requester_then_the_extension",
        PICKUP + "test_call_back_on_no_answer_waits_for_the_extension_to_finish_a_call",
        XML_PICKUP
        + "CampOnCallBackIntrusionOverXml::test_call_back_then_cancel_and_non_call_related",
        LOOPBACK + "test_call_back_non_call_related_and_its_event",
        LYNC_PICKUP + "test_call_back_then_cancel",
        LYNC_PICKUP + "test_call_back_non_call_related_rings_back_when_free",
        SOAP_PICKUP + "test_call_back_cancel_and_non_call_related",
    ),
    _f(
        "camp-on",
        "Camp-on by the caller to a busy party",
        PICKUP + "test_camp_on_waits_at_the_busy_extension_and_rings_when_it_is_free",
        XML_PICKUP + "CampOnCallBackIntrusionOverXml::test_camp_on",
        LYNC_PICKUP + "test_camp_on_a_busy_extension",
        SOAP_PICKUP + "test_camp_on_and_its_refusal",
    ),
    _f(
        "intrusion",
        "Intrusion into a busy party's call",
        PICKUP + "test_intrusion_joins_the_busy_extensions_call",
        PICKUP + "test_silent_intrusion_hears_and_is_not_heard",
        XML_PICKUP + "CampOnCallBackIntrusionOverXml::test_intrusion_allowed_refused_and_silent",
        LYNC_PICKUP + "test_intrude_silently",
        SOAP_PICKUP + "test_intrusion_refused_then_allowed_silent",
    ),
    _f(
        "handset-features",
        "Hold, consultation, transfer, conference and the rest done at the handset by the person",
        API + "test_hold_and_retrieve",
        API + "test_consultation_then_transfer",
        HANDSET + "test_off_hook_then_dial_digit_by_digit",
        HANDSET + "test_reject_an_internal_call_gives_the_caller_busy_tone",
        HANDSET + "test_hold_key_and_retrieve",
        HANDSET + "test_consultation_then_transfer_from_the_handset",
        HANDSET + "test_conference_from_the_handset",
        HANDSET + "test_dtmf_from_the_keypad_and_from_an_outside_caller",
        HANDSET + "test_dnd_and_forwarding_set_at_the_phone",
    ),
)
