"""What a session remembers: every key of `st.session_state`, declared once.

As tensorflow/playground's `state.ts` lists its state, this module lists every key a session keeps:
its name (the key in `st.session_state`), its type, its default, an optional check, and what it is
for. Pages and the other explorer modules use the typed accessors and never `st.session_state`:

    pick = session.WALK.pick.get()          # its default (None) when nothing was chosen yet
    session.WALK.pick.set(860)              # type-checked; a check may refuse a value
    st.slider(..., key=session.MANIFOLD_N.name)

Values that pages hand to one another (the active model, the encoded drawing, the selected test
image) are declared here too, so no two files share a bare string. `tests/test_session.py` fails
when a module other than this one touches `st.session_state` (item access, `.get`, `.pop`,
`.setdefault`, `in`, attributes), so a new key cannot slip in undeclared.

**Widget keys are session keys too.** The rule: a widget whose value is read or written through
session state (seeded before it renders, read in a callback, set by code) is declared here, and
gets its key from the declaration (`key=MANIFOLD_N.name`). A key given to a widget or container
only so that Streamlit can tell elements apart (a button whose click is its return value, a chart,
the `main_figure` container) is an element identity, not state: it is not declared. The test
refuses a literal `key="..."` that equals a declared name, so a declared key is always reached
through its declaration.

**Shareable keys** carry `param=`: the short name(s) they have in the address (explorer/address.py
reads and checks them, explorer/links.py writes the view on screen there and applies a link's view
to these keys). `shareable()` lists them; tests check every address parameter has its key.

To add a key: declare it below, in the section of the page that owns it, as
`NAME = Key("name", type, default, "what it is")` (a `factory=` instead of a default for lists and
dicts; `widget=True` for a widget's key); then use `NAME.get()` / `NAME.set(v)` where it is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import streamlit as st

T = TypeVar("T")
_UNSET = object()


class Key(Generic[T]):
    """One session-state key: its name, type, default and purpose, with typed accessors."""

    def __init__(
        self,
        name: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        doc: str = "",
        *,
        factory: Callable[[], T] | None = None,
        check: Callable[[T], bool] | None = None,
        widget: bool = False,
        param: str | tuple[str, ...] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.default = default
        self.factory = factory  # a fresh default for mutable values (lists, dicts)
        self.check = check
        self.widget = widget  # a widget's key: Streamlit writes it when the widget changes
        self.doc = doc
        # Shareable: the address parameter(s) of explorer/address.py this key is written to and
        # restored from (explorer/links.py converts); None for what a link does not carry.
        self.param = (param,) if isinstance(param, str) else param

    def __repr__(self) -> str:
        return f"Key({self.name!r})"

    def _default(self) -> T:
        return self.factory() if self.factory is not None else self.default

    def get(self) -> T:
        """The value, or the default when the key is unset."""
        value = st.session_state.get(self.name, _UNSET)
        return self._default() if value is _UNSET else value

    def set(self, value: T) -> None:
        if value is not None and not isinstance(value, self.kind):
            raise TypeError(f"session key {self.name!r} holds {self.kind}, not {type(value).__name__}")
        if value is not None and self.check is not None and not self.check(value):
            raise ValueError(f"session key {self.name!r} refuses {value!r:.80}")
        st.session_state[self.name] = value

    def is_set(self) -> bool:
        return self.name in st.session_state

    def clear(self) -> None:
        st.session_state.pop(self.name, None)

    def pop(self) -> T:
        """The value (or the default), removing it."""
        value = st.session_state.pop(self.name, _UNSET)
        return self._default() if value is _UNSET else value

    def setdefault(self) -> T:
        """The value, storing the default first when the key is unset (e.g. a widget's start value)."""
        if self.name not in st.session_state:
            st.session_state[self.name] = self._default()
        return st.session_state[self.name]


class Family:
    """Keys made from a pattern, one per thing (a model, a dimension, a setting): `PICKER.of(id)`."""

    def __init__(
        self,
        pattern: str,
        kind: type | tuple[type, ...],
        doc: str = "",
        *,
        widget: bool = False,
        param: str | tuple[str, ...] | None = None,
    ) -> None:
        self.pattern = pattern
        self.param = (param,) if isinstance(param, str) else param
        self.kind = kind
        self.widget = widget
        self.doc = doc

    def of(self, *parts: object, default: Any = None) -> Key:
        return Key(self.pattern.format(*parts), self.kind, default, self.doc, widget=self.widget)

    def matches(self, name: str) -> bool:
        head, _, tail = self.pattern.partition("{}")
        return name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail)


def update(values: dict[Key, Any]) -> None:
    """Set several keys at once (widgets filled before they are drawn)."""
    for key, value in values.items():
        key.set(value)


# ---- the active model and uploads (explorer/state.py, explorer/sidebar.py) ----

# `ModelRef` lives in explorer.models (Streamlit-free); typed loosely here to keep this module light.
ACTIVE_MODEL = Key(
    "active_model",
    object,
    None,
    "The active ModelRef, the same on every page; None until the first page.",
    param="model",
)
UPLOADS = Key(
    "uploaded_models",
    dict,
    doc="This session's uploaded checkpoints: stem -> (digest, Checkpoint), at most state.MAX_UPLOADS.",
    factory=dict,
)
PICKER = Family(
    "model_select:{}",
    str,
    "The model picker, keyed by the id of the model active when it was drawn (see sidebar._on_select).",
    widget=True,
)
CKPT_UPLOAD = Key("ckpt_upload", object, None, "The sidebar's checkpoint uploader (read in its callback).", widget=True)
UPLOAD_ERROR = Key(
    "upload_error", str, None, "Why the last uploaded checkpoint was refused; None once one is accepted."
)

# ---- language and presenter mode (explorer/i18n.py, explorer/layout.py) ----

LANG = Key(
    "lang",
    str,
    None,
    "The session's language, 'en' or 'ko'; None before the first page.",
    check=lambda v: v in ("en", "ko"),
    param="lang",
)
LANG_WIDGET = Key("lang_switch", str, None, "The sidebar's language switch (set from LANG on each run).", widget=True)
PRESENT = Key("present", bool, None, "Presenter mode (for a projector); None before the first page.", param="present")
PRESENT_WIDGET = Key("present_switch", bool, None, "The sidebar's presenter switch (set from PRESENT).", widget=True)

# ---- the latent plane (explorer/latent_plane.py) ----

SENT_MODELS = Key(
    "latent_plane.models",
    list,
    doc="Model keys this browser session's page holds (sent once; every plane shares them).",
    factory=list,
)


class PlaneKeys:
    """The keys of one latent plane instance (its component key is `instance`)."""

    def __init__(self, instance: str, *, z: str | None = None, pick: str | None = None, shared: bool = False) -> None:
        self.instance = instance
        self.component = Key(instance, object, None, "The plane's component state (its last commit).", widget=True)
        self.loader = Key(f"{instance}.model", object, None, "The model loader's component state.", widget=True)
        self.z = Key(
            z or f"{instance}.z",
            list,
            None,
            "The z the server holds, validated; None before the plane.",
            param="z" if shared else None,
        )
        self.pick = Key(
            pick or f"{instance}.pick",
            int,
            None,
            "The selected test image's index, or None.",
            param="pick" if shared else None,
        )
        self.path = Key(
            f"{instance}.path",
            dict,
            None,
            "The plane's path {kind, from, to, r, frames, fps, loop} as last committed; None for the default.",
            param=("path", "from", "to", "r", "frames", "fps", "loop") if shared else None,
        )
        self.grid = Key(
            f"{instance}.grid",
            bool,
            False,
            "The decoded manifold drawn behind the plane.",
            param="layers" if shared else None,
        )
        self.view_rev = Key(
            f"{instance}.view_rev", int, 0, "Bumped when a link sets the path or layers: the plane follows."
        )
        self.rev = Key(f"{instance}.rev", int, 0, "Bumped when Python moves z, so the plane follows.")
        self.sent = Key(f"{instance}.sent", tuple, None, "((model key, rev), z0, pick) last sent to the plane.")
        self.echo = Key(f"{instance}.echo", bool, False, "The last commit came from the browser (it shows z).")
        self.error = Key(f"{instance}.error", str, None, "Why the plane's last commit was refused.")


# ---- Walk (pages/walk.py, explorer/widgets.py) ----

# The Walk page's z and selected test image are the plane's, in both of the page's forms: the JS
# plane, and plain sliders with a clickable scatter where no JavaScript component runs.
WALK = PlaneKeys("walk_plane", z="walk_z", pick="walk_pick", shared=True)
WALK_MODEL = Key("walk_model", str, None, "The model key Walk last showed: another model starts at the origin.")
WALK_SLIDER = Family("walk_z{}", float, "Plain Walk: the slider of latent dimension i.", widget=True)
WALK_SCATTER = Key(
    "walk_scatter", object, None, "Plain Walk: the scatter's selection (read in its callback).", widget=True
)

# ---- Encode your own (pages/encode.py), read by the Reparameterisation page ----

ENC = PlaneKeys("enc_plane")
ENCODED_MU = Key("encoded_mu", list, None, "μ of the image last encoded on Encode (for Reparameterisation).")
ENCODED_LOGVAR = Key("encoded_logvar", list, None, "log σ² of the image last encoded on Encode.")
ENC_DIGEST = Key(
    "enc_digest", str, None, "Digest of the last encoded input and model: a new one moves the plane to its μ."
)

# ---- Manifold (pages/manifold.py) ----

MANIFOLD_N = Key("manifold_n", int, 20, "The grid's size n (n × n images).", widget=True, param="n")
MANIFOLD_SPACING = Key("manifold_spacing", str, "icdf", "'icdf' or 'linear'.", widget=True, param="spacing")
MANIFOLD_OVERLAY = Key(
    "manifold_overlay", bool, True, "The test set's latent means drawn over the grid.", widget=True, param="layers"
)
MANIFOLD_RANGE = Family(
    "lin_z{}", float, "Linear spacing's bound: lin_z1lo, lin_z1hi, lin_z2lo, lin_z2hi.", widget=True, param="box"
)

# ---- Samples and metrics (pages/metrics.py) ----

COMPARE = Family(
    "compare_{}",
    str,
    "The Metrics page's compare pickers, 'a' and 'b': the id of the model each shows (not its label).",
    widget=True,
)

# ---- Concepts: reparameterisation (pages/concept_reparam.py) ----

REP_EPS = Key("rep_eps", list, doc="The draws of ε so far, a list of lists.", factory=list)
REP_TARGET = Key("rep_target", int, 0, "How many draws the running burst ends at.")

# ---- ownership (explorer/owner.py) ----

OWNER_SECRET = Key(
    "owner_secret",
    str,
    None,
    "This tab's browser secret when its cookie has none yet (never shown; only its hash is stored).",
)

# ---- Train (pages/train.py, explorer/train_panel.py, explorer/settings_form.py) ----

TRAIN_RUN = Key("train_run", str, None, "This session's run id (also ?run= in the address).")
TRAINER = Key("trainer", str, None, "The trainer's validated display name, asked once per session.")
TRAINER_INPUT = Key("trainer_input", str, "", "The box the trainer's name is typed in.", widget=True)
TRAINER_ERROR = Key("trainer_error", str, None, "Why the typed name was refused.")
TRAIN_FINISHED = Key("tr_finished", str, None, "The run whose end this page has handled (made active, redrawn).")
TRAIN_DATASET = Key("tr_dataset", str, None, "The Train page's dataset.", widget=True)
TRAIN_PRESET = Key("train_preset", str, None, "The Train page's preset ('' for none).", widget=True)
TRAIN_NAME = Key("tr_name", str, None, "The name the trained model is saved as.", widget=True)
SETTING = Family(
    "tr_{}", object, "The Train form's widget of one setting (a VAEConfig/TrainConfig field).", widget=True
)

# ---- Class gallery (pages/gallery.py) ----

TEACHER_OK = Key("teacher_ok", bool, False, "This session gave the right teacher key.")
TEACHER_KEY_INPUT = Key(
    "teacher_key_input", str, "", "The box the teacher key is typed in (emptied after).", widget=True
)
TEACHER_TRIED = Key("teacher_tried", bool, False, "A teacher key was tried (a wrong one shows a message).")
TEACHER_FAILS = Key("teacher_fails", int, 0, "Wrong teacher keys tried in this session (the throttle counts them).")
TEACHER_WAIT_UNTIL = Key(
    "teacher_wait_until", float, 0.0, "No teacher key is checked before this time (epoch seconds): the throttle."
)


# ---- Class board (pages/class_board.py, explorer/class_board.py; Encode's "send to the class") ----

BOARD_NAME = Key("board_name", str, "", "The display name this session sends to the class board with.")
BOARD_NAME_INPUT = Key("board_name_input", str, "", "The box the name is typed in (set from BOARD_NAME).", widget=True)
BOARD_LABEL = Key("board_label", str, "", "The class the student says a drawing is ('' for none).", widget=True)
BOARD_SENT = Key("board_sent", tuple, None, "(kind, text) of the last send to the board: 'ok' or 'refused'.")
BOARD_PICK = Key("board_pick", int, None, "The submission shown large on the class board (its id), or None.")
BOARD_CLICK = Key("board_click", object, None, "The board chart's selection (read in its callback).", widget=True)
BOARD_ANSWER_CLICK = Key(
    "board_answer_click", object, None, "The answer plane's selection (read in its callback).", widget=True
)
BOARD_ANSWER_SENT = Key("board_answer_sent", tuple, None, "(kind, text) of the last answer given: 'ok' or 'refused'.")
BOARD_PROMPT = Key("board_prompt", str, "", "The teacher's question as typed.", widget=True)
BOARD_TARGET = Key("board_target", int, -1, "The class a question's true answer is (-1: none).", widget=True)
BOARD_LAST_POLL = Key("board_last_poll", float, 0.0, "When a student's board last redrew for new submissions.")


# ---- links and lessons (explorer/links.py, explorer/lessons.py) ----

ADDRESS_READ = Key("address_read", bool, False, "This session has read its first page's address (a link's view).")
ADDRESS_IGNORED = Key(
    "address_ignored", list, None, "Names of the link's parameters that were not used (one notice, then cleared)."
)
ADDRESS_WRITER = Family(
    "address_writer.{}", object, "The address writer's component state, one per place it is mounted.", widget=True
)
ADDRESS_SEQ = Key("address_seq", int, 0, "How many times this session wrote its address (the last write wins).")
ADDRESS_TAG = Key("address_tag", str, None, "A random tag of this session, so a new session's writes start over.")
HIDE = Key("hide", frozenset, frozenset(), "Controls the link hides (explorer.address.HIDEABLE).", param="hide")
LOCK = Key("lock", frozenset, frozenset(), "What the link locks (explorer.address.LOCKABLE).", param="lock")
LESSON = Key("lesson", str, None, "The lesson being followed (a file stem in lessons/), or None.", param="lesson")
LESSON_STEP = Key("lesson_step", int, 1, "The lesson's step shown, from 1.", param="step")
LESSON_ERROR = Key("lesson_error", str, None, "Why the lesson a link asked for cannot be opened (shown once).")
LESSON_GOTO = Key("lesson_goto", str, None, "The page script a lesson step opens, switched to on the next page run.")


def shareable() -> list[Key | Family]:
    """The keys a link carries (those with `param`)."""
    return [k for k in declared() if getattr(k, "param", None)]


def declared() -> list[Key | Family]:
    """Every key and family declared here (tests check names are unique and modules use them)."""
    out: list[Key | Family] = []
    for value in globals().values():
        if isinstance(value, (Key, Family)):
            out.append(value)
        elif isinstance(value, PlaneKeys):
            out += [v for v in vars(value).values() if isinstance(v, Key)]
    return out
