"""A minimal Streamlit protocol client: what a browser tab sends and receives, without the browser.

It speaks the app's own websocket protocol (Streamlit's protobuf BackMsg / ForwardMsg on
/_stcore/stream), so a 2-core machine can drive many sessions at once and the load lands on
the server, not on twenty headless renderers. Used by bench/load_test.py.
"""

from __future__ import annotations

import asyncio
import time

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates


class RunResult:
    def __init__(self) -> None:
        self.sliders: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id or "")
        self.exceptions: list[str] = []
        self.images = 0
        self.captions: list[str] = []
        self.status: int | None = None
        self.seconds = 0.0


class StreamlitClient:
    """One session. `await run(...)` sends a rerun and waits for its script_finished."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.widgets: dict[str, WidgetState] = {}

    async def __aenter__(self) -> StreamlitClient:
        import websockets

        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=2**28)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    def set_slider(self, widget_id: str, value: float) -> None:
        state = WidgetState(id=widget_id)
        state.double_array_value.data.append(value)
        self.widgets[widget_id] = state

    async def run(self, page: str = "", fragment_id: str = "", timeout: float = 60.0) -> RunResult:
        """Rerun the page (or only one fragment of it, as a browser does for widgets inside one)."""
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = ""
        rerun.page_name = page
        if page in self.pages:
            rerun.page_script_hash = self.pages[page]
        rerun.fragment_id = fragment_id
        rerun.widget_states.CopyFrom(WidgetStates(widgets=list(self.widgets.values())))
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        result = RunResult()
        async with asyncio.timeout(timeout):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self.ws.recv())
                kind = fwd.WhichOneof("type")
                if kind == "navigation":
                    for p in fwd.navigation.app_pages:
                        self.pages[p.url_pathname] = p.page_script_hash
                elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    self._element(fwd.delta.new_element, fwd.delta.fragment_id, result)
                elif kind == "script_finished":
                    result.status = fwd.script_finished
                    if fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        break
        result.seconds = time.perf_counter() - t0
        return result

    @staticmethod
    def _element(el, fragment_id: str, result: RunResult) -> None:
        kind = el.WhichOneof("type")
        if kind == "slider":
            result.sliders[el.slider.label] = (el.slider.id, fragment_id)
        elif kind == "exception":
            result.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif kind == "imgs":
            result.images += 1
            result.captions += [img.caption for img in el.imgs.imgs if img.caption]
