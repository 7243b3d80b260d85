"""chainrule's SGD, Adam and AdamW as torch.optim optimizers and back, state included.

chainrule keeps one number per parameter scalar (``momentum_buffer[i]``,
``exp_avg[i]``); torch keeps one tensor per parameter tensor, shaped like it. The
same ``Slot`` layout as ``to_torch`` puts each number in its place, so training
continues on the other side from the same step with the same numbers.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from .. import optim
from .models import Model, Slot, _plan

__all__ = ["optimizer_to_torch", "optimizer_from_torch", "TORCH_OPTIMIZERS"]

TORCH_OPTIMIZERS = {"SGD": "torch.optim.SGD", "Adam": "torch.optim.Adam",
                    "AdamW": "torch.optim.AdamW"}
_BUFFERS = {"SGD": ("momentum_buffer",), "Adam": ("exp_avg", "exp_avg_sq"),
            "AdamW": ("exp_avg", "exp_avg_sq")}


def _tensors(model: Model, torch_model: Any) -> Tuple[List[Slot], Dict[Tuple[int, str], int]]:
    """Slots of ``model``, and where each ``(linear, kind)`` is in ``torch_model.parameters()``."""
    import torch

    shapes, slots = _plan(model)
    position = 0
    for number, (nin, nout, act) in enumerate(shapes):
        layer = torch_model[position] if position < len(torch_model) else None
        if not isinstance(layer, torch.nn.Linear) or (layer.in_features,
                                                      layer.out_features) != (nin, nout):
            raise ValueError(f"torch_model does not match the model: its layer {position} should "
                             f"be Linear({nin}, {nout}) (layer {number} of the chainrule model), "
                             f"got {layer!r}; make it with to_torch(model)")
        position += 1 if act == "linear" else 2
    names = {id(p): name for name, p in torch_model.named_parameters()}
    column = {}
    for i, p in enumerate(torch_model.parameters()):
        linear, kind = names[id(p)].split(".")
        column[int(linear), kind] = i
    return slots, column


def optimizer_to_torch(opt: optim.Optimizer, model: Model, torch_model: Any) -> Any:
    """A torch.optim optimizer over ``torch_model`` in the state ``opt`` is in.

    ``opt`` optimizes ``model``'s parameters and ``torch_model`` is ``to_torch(model)``
    (made now, so it has the same weights). Hyperparameters, the step count and every
    buffer carry over: ``m`` steps of the result equal ``m`` more steps of ``opt``.
    """
    import torch

    kind = type(opt).__name__
    if kind not in TORCH_OPTIMIZERS or type(opt) is not getattr(optim, kind):
        raise TypeError(f"optimizer_to_torch expects a chainrule SGD, Adam or AdamW, got {kind}")
    slots, column = _tensors(model, torch_model)
    state = opt.state_dict()
    where = {id(s.value): s for s in slots}
    if {id(p) for p in opt.params} != set(where):
        raise ValueError("optimizer_to_torch: opt must optimize exactly the model's parameters "
                         "(opt = ...(model.parameters(), ...)), since torch steps whole tensors")
    hyper = dict(state["hyperparameters"])
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])
    params = list(torch_model.parameters())
    result = getattr(torch.optim, kind)(params, **hyper)
    per_tensor: Dict[int, Dict[str, Any]] = {}
    for name in _BUFFERS[kind]:
        values = state[name]
        if all(x is None for x in values):  # SGD before its first step: no buffer yet
            continue
        buffers = [torch.zeros_like(p) for p in params]
        for p, x in zip(opt.params, values):
            s = where[id(p)]
            buffers[column[s.linear, s.kind]][s.at] = x
        for i, buffer in enumerate(buffers):
            per_tensor.setdefault(i, {})[name] = buffer
    if kind != "SGD":
        if state["step"] == 0:
            per_tensor = {}
        for entry in per_tensor.values():
            entry["step"] = torch.tensor(float(state["step"]))  # torch's float32 step count
    torch_state = result.state_dict()
    torch_state["state"] = per_tensor
    result.load_state_dict(torch_state)
    return result


def optimizer_from_torch(torch_opt: Any, torch_model: Any, model: Model) -> optim.Optimizer:
    """The chainrule optimizer over ``model.parameters()`` in the state ``torch_opt`` is in.

    ``torch_opt`` is a ``torch.optim.SGD``, ``Adam`` or ``AdamW`` with one parameter
    group holding ``torch_model``'s parameters, and ``model`` is
    ``from_torch(torch_model)`` (or has its layout).
    """
    import torch

    kind = type(torch_opt).__name__
    if kind not in TORCH_OPTIMIZERS or type(torch_opt) is not getattr(torch.optim, kind):
        raise TypeError(f"optimizer_from_torch expects torch.optim.SGD, Adam or AdamW, "
                        f"got {type(torch_opt).__name__}")
    slots, column = _tensors(model, torch_model)
    params = list(torch_model.parameters())
    groups = torch_opt.param_groups
    if len(groups) != 1 or {id(p) for p in groups[0]["params"]} != {id(p) for p in params}:
        raise ValueError("optimizer_from_torch: torch_opt must have one parameter group holding "
                         "exactly torch_model's parameters")
    group = groups[0]
    for flag in ("maximize", "amsgrad"):
        if group.get(flag):
            raise ValueError(f"optimizer_from_torch: {flag}=True has no chainrule counterpart")
    hyper = {"lr": float(group["lr"]), "weight_decay": group["weight_decay"]}
    if kind == "SGD":
        hyper.update({k: group[k] for k in ("momentum", "dampening", "nesterov")})
    else:
        hyper.update(betas=tuple(float(b) for b in group["betas"]), eps=group["eps"])
        if kind == "Adam":
            hyper["decoupled_weight_decay"] = bool(group.get("decoupled_weight_decay", False))
    result = getattr(optim, kind)(model.parameters(), **hyper)
    state = result.state_dict()
    entries = [torch_opt.state.get(p, {}) for p in params]
    position = {id(s.value): s for s in slots}
    for name in _BUFFERS[kind]:
        if all(e.get(name) is None for e in entries):
            continue
        if any(e.get(name) is None for e in entries):
            raise ValueError(f"optimizer_from_torch: some parameters have a {name!r} and some "
                             "do not; chainrule steps every parameter every time")
        state[name] = []
        for p in result.params:
            s = position[id(p)]
            state[name].append(entries[column[s.linear, s.kind]][name][s.at].item())
    if kind != "SGD":
        steps = {int(e["step"]) for e in entries if "step" in e}
        if len(steps) > 1:
            raise ValueError(f"optimizer_from_torch: parameters have taken different numbers of "
                             f"steps {sorted(steps)}; chainrule counts one for all")
        state["step"] = steps.pop() if steps else 0
    result.load_state_dict(state)
    return result
