"""Actions declared in code: names, the registry, and each action's effective policy."""

import pytest

from actions import registry
from actions.errors import UnknownAction
from actions.models import Action
from actions.policy import DEFAULT_POLICY, RetryPolicy


@pytest.fixture
def declared():
    """A throwaway action, forgotten again after the test."""
    names = []

    def declare(name: str, **options):
        def handler(inputs, ctx):
            """Says hello."""
            return {}

        registry.action(name, **options)(handler)
        names.append(name)
        return handler

    yield declare
    for name in names:
        registry.unregister(name)


def test_a_declared_action_has_its_policy_and_its_docstring_as_description(declared):
    declared("test-declared", max_attempts=7, timeout=9)
    spec = registry.get_spec("test-declared")
    assert spec.policy == RetryPolicy(max_attempts=7, timeout=9)
    assert spec.description == "Says hello."
    assert spec.validator is None


def test_an_action_declared_without_options_has_the_default_policy(declared):
    declared("test-plain")
    assert registry.get_spec("test-plain").policy == DEFAULT_POLICY


@pytest.mark.parametrize("name", ["Upper", "under_score", "-lead", "trail-", "a--b", "x" * 101, ""])
def test_names_must_be_lowercase_slugs(name):
    with pytest.raises(ValueError, match="slug"):
        registry.action(name)


def test_two_handlers_for_one_name_are_refused(declared):
    declared("test-twice")

    def other(inputs, ctx):
        return {}

    with pytest.raises(ValueError, match="registered twice"):
        registry.action("test-twice")(other)


def test_an_invalid_inputs_schema_is_refused_at_declaration():
    with pytest.raises(Exception, match="not valid under any of the given schemas|is not of type"):
        registry.action("test-bad-schema", inputs_schema={"type": "no-such-type"})


def test_an_unknown_name_is_unknown_action_with_details():
    with pytest.raises(UnknownAction) as caught:
        registry.get_spec("no-such-action")
    assert caught.value.details == {"action": "no-such-action"}
    assert registry.find_spec("no-such-action") is None


def test_all_specs_are_sorted_by_name():
    names = [spec.name for spec in registry.all_specs()]
    assert names == sorted(names)
    assert {"test-noop", "create-user"} <= set(names)


# --- the effective policy ----------------------------------------------------------


def test_without_overrides_the_code_policy_is_in_force():
    assert registry.effective_policy("test-final") == RetryPolicy(max_attempts=5, backoff_base=1)


def test_a_rows_overrides_replace_only_the_fields_it_sets():
    row = Action(name="test-final", timeout=7, max_attempts=None)
    policy = registry.effective_policy("test-final", row)
    assert policy == RetryPolicy(max_attempts=5, backoff_base=1, timeout=7)
    assert Action(name="test-final", timeout=7).policy == policy  # the row's own shortcut


def test_overrides_may_be_a_mapping_of_form_fields():
    policy = registry.effective_policy("test-final", {"max_attempts": 2, "timeout": None})
    assert (policy.max_attempts, policy.timeout) == (2, 60)


def test_overrides_that_make_no_sense_together_are_refused():
    with pytest.raises(ValueError):
        registry.effective_policy("test-final", {"backoff_base": 700})  # above backoff_max


def test_without_a_handler_the_defaults_stand_in_for_the_code_policy():
    assert registry.effective_policy("no-handler-here") == DEFAULT_POLICY
    row = Action(name="no-handler-here", max_attempts=9)
    assert registry.effective_policy("no-handler-here", row).max_attempts == 9
