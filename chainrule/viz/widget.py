"""The step-through of backward() inside a notebook cell, and a quiz on it.

    from chainrule.viz.widget import StepThrough
    StepThrough(o).widget()              # slider, previous/next, play
    quiz = StepThrough(o, quiz=True)
    quiz.widget()                        # asks for each next gradient before showing it
    quiz.question; quiz.answer(0.5)      # the same without ipywidgets, one cell at a time

``StepThrough`` is the state (position, questions, score) and knows nothing of widgets;
``widget()`` wires ipywidgets to it. The frames are ``backward_steps``'s, and every
``.grad`` is left as it was. Hints come from ``chainrule.explain``'s rules, the same
words the workshop checkers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional

from ..engine import Constant, Value
from ..explain import close, hint, rule
from ..graph import Graph
from .steps import Step, backward_steps, expression


@dataclass(frozen=True)
class Question:
    """What the quiz asks before showing step ``step``: ``child.grad`` once ``node``'s
    step has run with ``node.grad`` = ``incoming`` (``before``: child.grad until then)."""

    step: int
    node: Value
    child: Value
    incoming: float
    before: float
    expected: float
    text: str

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``correct``, and the message to show."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__


def _steps(root: Value, options: Dict[str, Any]) -> List[Step]:
    """Every frame of a fresh backward(); backward_steps ends with a real backward(),
    so every grad is put back afterwards (leaves would otherwise accumulate)."""
    order = root.backward_order()
    saved = [v.grad for v in order]
    try:
        return list(backward_steps(root, **options))
    finally:
        for v, g in zip(order, saved):
            v.grad = g


def parse(answer: Any) -> Optional[float]:
    """A typed answer as a number: 0.5, "-1.5", "1/2" (no eval); None if it is none."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, float)):
        return float(answer)
    if isinstance(answer, str):
        try:
            return float(Fraction(answer.strip().replace("−", "-")))
        except (ValueError, ZeroDivisionError):
            return None
    return None


class StepThrough:
    """backward() on ``root`` frame by frame; with ``quiz=True`` each frame is shown only
    after its new gradients were predicted (or revealed). ``options`` are draw_dot's."""

    def __init__(self, root: Value, quiz: bool = False, **options: Any) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"StepThrough needs a Value, got {type(root).__name__}: {root!r}")
        self.root, self.quiz, self.options = root, bool(quiz), options
        self.steps = _steps(root, options)
        self.names = Graph(root, options.get("params")).names
        self.position = 0
        self.reached = 0 if quiz else len(self.steps) - 1  # the furthest frame one may see
        self.right = self.asked = 0
        self._asked_now = False  # the current question has had its first answer
        self._pending: List[Question] = []
        self._fill()

    # ------------------------------------------------------------------ moving

    @property
    def step(self) -> Step:
        return self.steps[self.position]

    @property
    def last(self) -> int:
        return len(self.steps) - 1

    def goto(self, index: int) -> Step:
        """Show frame ``index`` (in a quiz: at most the furthest frame reached)."""
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"index must be an int, got {type(index).__name__}: {index!r}")
        if not 0 <= index <= self.last:
            raise ValueError(f"index must be 0 to {self.last}, got {index}")
        self.position = min(index, self.reached)
        return self.step

    def next(self) -> Step:
        return self.goto(min(self.position + 1, self.last))

    def previous(self) -> Step:
        return self.goto(max(self.position - 1, 0))

    @property
    def blocked(self) -> bool:
        """In a quiz, at the furthest frame, with a question waiting: next() stays put."""
        return self.quiz and self.position == self.reached and bool(self._pending)

    # ------------------------------------------------------------------ the quiz

    def _queue(self) -> None:
        """The questions for the frame after the furthest one reached."""
        self._pending, self._asked_now = [], False
        if not self.quiz or self.reached >= self.last:
            return
        before, after = self.steps[self.reached], self.steps[self.reached + 1]
        node, names = after.node, self.names
        incoming = after.grads[node]
        expr = expression(node, names)
        same = names[node].replace("*", "·").replace(" ", "") == expr.replace(" ", "")
        said = names[node] if same else f"{names[node]} = {expr}"
        for child in after.updates:
            if isinstance(child, Constant):  # a number in the expression: nobody asks
                continue
            text = (f"Step {after.index} of {self.last}: {said} has its final grad "
                    f"{_fmt(incoming)}. What is {_term(names[child])}.grad after this step?")
            if before.grads[child]:
                text += f" (It holds {_fmt(before.grads[child])} so far.)"
            self._pending.append(Question(after.index, node, child, incoming,
                                          before.grads[child], after.grads[child], text))

    @property
    def question(self) -> Optional[Question]:
        """The question waiting at the furthest frame, or None (not a quiz, or done)."""
        return self._pending[0] if self._pending else None

    def answer(self, value: Any) -> Feedback:
        """Check a prediction for ``question``; right (or revealed) moves on."""
        q = self.question
        if q is None:
            return Feedback(False, "No question waiting: " + (
                "this is not a quiz (StepThrough(root, quiz=True))." if not self.quiz
                else f"you predicted every step. {self.score}"))
        number = parse(value)
        if number is None:
            return Feedback(False, "Not answered yet: type a number, like 0.5, -1.5 or 1/2"
                            if value in (None, ..., "") else
                            f"type a number, like 0.5, -1.5 or 1/2; got {value!r}")
        first = not self._asked_now
        self._asked_now = True
        child = self.names[q.child]
        if close(number, q.expected):
            self.asked += first
            self.right += first
            why = rule(q.node, q.child, self.names)
            self._advance()
            return Feedback(True, f"✔ right: {_term(child)}.grad = {_fmt(q.expected)} ({why}). "
                                  f"{self.score}")
        self.asked += first
        tip = hint(number, q.node, q.child, q.incoming, q.before, self.names)
        return Feedback(False, f"✘ not {_fmt(number)}. Hint: {tip}. Try again, or reveal. "
                               f"{self.score}")

    def reveal(self) -> Feedback:
        """Show the answer to the waiting question (it counts as not right) and move on."""
        q = self.question
        if q is None:
            return Feedback(False, "No question waiting.")
        self.asked += not self._asked_now
        self._advance()
        why = rule(q.node, q.child, self.names)
        return Feedback(False, f"{_term(self.names[q.child])}.grad = {_fmt(q.expected)}: {why}. "
                               f"{self.score}")

    def _advance(self) -> None:
        self._pending.pop(0)
        self._asked_now = False
        if not self._pending:  # every gradient of the next frame predicted: show it
            self.reached += 1
            self.position = self.reached
            self._fill()

    def _fill(self) -> None:
        """Queue the next questions; a step that only feeds constants asks nothing, so
        its frame is open at once and the quiz moves on to the step after it."""
        self._queue()
        while self.quiz and not self._pending and self.reached < self.last:
            self.reached += 1
            self._queue()

    @property
    def score(self) -> str:
        done = " Done: every step predicted." if self.quiz and self.reached == self.last else ""
        return f"Score: {self.right} of {self.asked} right at the first try.{done}"

    # ------------------------------------------------------------------ showing

    def draw(self) -> Any:
        """The frame shown now, as a drawing."""
        return self.step.draw()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kw: Any) -> Any:
        return self.step._repr_mimebundle_(include, exclude, **kw)

    def show(self, interval: int = 1200) -> Any:
        """``widget()`` where ipywidgets is installed; elsewhere (JupyterLite, a bare
        kernel) this StepThrough itself, which shows its frame, and a line on what to do."""
        try:
            return self.widget(interval)
        except ImportError:
            print("No ipywidgets here (pip install ipywidgets for the buttons): step with "
                  ".next(), .previous(), .goto(k)" + (", answer with .answer(x)" if self.quiz
                                                       else "") + " in cells.")
            return self

    def widget(self, interval: int = 1200) -> Any:
        """The frames in an ipywidgets box: play, previous, next, a slider and, in a quiz,
        an answer box with check and reveal buttons and the score. ``interval``: ms a
        frame stays up while playing."""
        try:
            import ipywidgets as w  # type: ignore[import-not-found, unused-ignore]
            from IPython.display import display
        except ImportError as error:
            raise ImportError(
                "StepThrough.widget() needs ipywidgets: pip install ipywidgets (the workshop "
                "extra has it). Without it, show frames with .goto(k) and answer with "
                f".answer(x) in cells ({error})"
            ) from None
        view = w.Output()
        slider = w.IntSlider(value=self.position, min=0, max=self.reached, description="step",
                             continuous_update=False)
        play = w.Play(value=self.position, min=0, max=self.reached, interval=interval,
                      description="play")
        if not self.quiz:  # a quiz shows a frame only once it was predicted
            w.jslink((play, "value"), (slider, "value"))
        back, forward = w.Button(description="◀ previous"), w.Button(description="next ▶")
        question, feedback, score = w.HTML(), w.HTML(), w.HTML()
        box = w.Text(placeholder="your prediction, e.g. 0.5", description="grad =")
        check, show = w.Button(description="check"), w.Button(description="reveal")

        def refresh() -> None:
            slider.max = play.max = self.reached
            slider.value = play.value = self.position
            back.disabled = self.position == 0
            forward.disabled = self.position == self.last or self.blocked
            q = self.question
            question.value = _big(f"<b>{_html(q.text)}</b>") if q and self.blocked else ""
            score.value = _big(_html(self.score))
            view.clear_output(wait=True)
            with view:
                display(self.draw())

        def moved(change: Dict[str, Any]) -> None:
            if change["new"] != self.position:
                self.goto(change["new"])
                refresh()

        def answered(_: Any) -> None:
            verdict = self.answer(box.value)
            feedback.value = _big(_html(str(verdict)))
            if verdict.correct:
                box.value = ""
            refresh()

        def revealed(_: Any) -> None:
            feedback.value = _big(_html(str(self.reveal())))
            box.value = ""
            refresh()

        def stepped(move: Any) -> Any:
            def click(_: Any) -> None:
                move()
                refresh()
            return click

        slider.observe(moved, names="value")
        back.on_click(stepped(self.previous))
        forward.on_click(stepped(self.next))
        check.on_click(answered)
        show.on_click(revealed)
        controls = [back, forward, slider] if self.quiz else [play, back, forward, slider]
        rows = [w.HBox(controls), view]
        if self.quiz:
            rows[1:1] = [question, w.HBox([box, check, show, score]), feedback]
        refresh()
        ui = w.VBox(rows)
        ui.state = self  # tests and curious students: the StepThrough behind the buttons
        return ui


def _term(name: str) -> str:
    return name if name.replace("_", "").replace(".", "").isalnum() else f"({name})"


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.4g}"


def _big(html_text: str) -> str:
    """Text a projector shows: the widgets' default is 13 px."""
    return f'<div style="font-size: 16px; line-height: 1.4">{html_text}</div>'


def _html(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")
