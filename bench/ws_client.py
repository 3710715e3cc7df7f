"""A minimal Streamlit protocol client: what a browser tab sends and receives, without the browser.

It speaks the app's own websocket protocol (Streamlit's protobuf BackMsg / ForwardMsg on
/_stcore/stream), so a 2-core machine can drive many sessions at once and the load lands on
the server, not on twenty headless renderers. Used by bench/load_test.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates


class RunResult:
    def __init__(self) -> None:
        self.sliders: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id or "")
        self.keyed: dict[str, tuple[str, str]] = {}  # user key -> (widget id, fragment id or "")
        self.widget_ids: set[str] = set()  # every widget drawn in this run
        self.components: dict[str, dict] = {}  # user key -> st.components.v2 data (JSON) or {"bytes": n}
        self.exceptions: list[str] = []
        self.images = 0
        self.captions: list[str] = []
        self.alerts: list[str] = []  # st.error / warning / info / success bodies
        self.image_urls: list[str] = []  # /media/... paths of the images drawn
        self.widgets: dict[str, tuple[str, str, str]] = {}  # widget id -> (element type, label, fragment id)
        self.options: dict[str, list[str]] = {}  # widget id -> its options as shown (radio, selectbox, ...)
        self.status: int | None = None
        self.auto_reruns: list[tuple[float, str]] = []  # (interval s, fragment id) of st.fragment(run_every=...)
        self.seconds = 0.0


class StreamlitClient:
    """One session. `await run(...)` sends a rerun and waits for its script_finished."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.headers = headers  # e.g. the Cookie a load balancer's stickiness needs
        self.ws = None
        self.session_id = ""  # the server's id of this session (upload URLs carry it)
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.widgets: dict[str, WidgetState] = {}
        self.page: str | None = None  # the page of the last run
        self.cached: dict[str, ForwardMsg] = {}  # cacheable messages by hash: their hashes go back as a browser's do
        self.bytes_received = 0

    async def __aenter__(self) -> StreamlitClient:
        import websockets

        self.ws = await websockets.connect(
            self.ws_url, subprotocols=["streamlit"], max_size=2**28, additional_headers=self.headers
        )
        self.sock = self.ws.transport.get_extra_info("socket")
        if self.sock is not None:  # as browsers do: no Nagle delay on small messages
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def _quickack(self) -> None:
        """Acknowledge at once (Linux resets this after each read). Without it the server's
        small messages wait on this client's delayed ACK (~40 ms on loopback, Nagle's algorithm),
        and every run would look at least 40 ms long whatever the server did."""
        if self.sock is not None and hasattr(socket, "TCP_QUICKACK"):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    def set_slider(self, widget_id: str, value: float) -> None:
        state = WidgetState(id=widget_id)
        state.double_array_value.data.append(value)
        self.widgets[widget_id] = state

    def set_json(self, widget_id: str, value) -> None:
        """A JSON-valued widget: an st.components.v2 component's state."""
        state = WidgetState(id=widget_id)
        state.json_value = json.dumps(value)
        self.widgets[widget_id] = state

    def set_string(self, widget_id: str, value: str) -> None:
        """A string-valued widget: e.g. a plotly chart's selection, as JSON text."""
        state = WidgetState(id=widget_id)
        state.string_value = value
        self.widgets[widget_id] = state

    def set_int(self, widget_id: str, value: int) -> None:
        state = WidgetState(id=widget_id)
        state.double_array_value.data.append(value)
        self.widgets[widget_id] = state

    def set_widget(self, widget_id: str, **value) -> None:
        """Any widget's value, as WidgetState fields: set_widget(id, int_value=1), (id, trigger_value=True)."""
        self.widgets[widget_id] = WidgetState(id=widget_id, **value)

    def set_files(self, widget_id: str, files: list[tuple[str, int, FileURLs]]) -> None:
        """A file_uploader's value after its files were PUT: (name, size in bytes, their FileURLs) each."""
        state = WidgetState(id=widget_id)
        for name, size, urls in files:
            info = UploadedFileInfo(name=name, size=size, file_id=urls.file_id, file_urls=urls)
            state.file_uploader_state_value.uploaded_file_info.append(info)
        self.widgets[widget_id] = state

    async def upload_urls(self, names: list[str], timeout: float = 30.0) -> list[FileURLs]:
        """Ask the server where to PUT files, as st.file_uploader does before uploading."""
        msg = BackMsg()
        msg.file_urls_request.request_id = uuid.uuid4().hex
        msg.file_urls_request.session_id = self.session_id
        msg.file_urls_request.file_names.extend(names)
        await self.ws.send(msg.SerializeToString())
        async with asyncio.timeout(timeout):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self.ws.recv())
                if fwd.WhichOneof("type") == "file_urls_response":
                    if fwd.file_urls_response.response_id == msg.file_urls_request.request_id:
                        if fwd.file_urls_response.error_msg:
                            raise RuntimeError(fwd.file_urls_response.error_msg)
                        return list(fwd.file_urls_response.file_urls)

    async def run(
        self, page: str = "", fragment_id: str = "", timeout: float = 60.0, query_string: str = ""
    ) -> RunResult:
        """Rerun the page (or only one fragment of it, as a browser does for widgets inside one)."""
        if page != self.page:  # a page switch: the old page's widgets are gone
            self.widgets = {}
        self.page = page
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = query_string
        rerun.page_name = page
        if page in self.pages:
            rerun.page_script_hash = self.pages[page]
        rerun.fragment_id = fragment_id
        rerun.widget_states.CopyFrom(WidgetStates(widgets=list(self.widgets.values())))
        rerun.cached_message_hashes.extend(sorted(self.cached))
        t0 = time.perf_counter()
        self._quickack()
        await self.ws.send(msg.SerializeToString())
        result = RunResult()
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.ws.recv()
                self._quickack()
                self.bytes_received += len(raw)
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                if fwd.metadata.cacheable and fwd.hash:
                    self.cached[fwd.hash] = fwd
                kind = fwd.WhichOneof("type")
                if kind == "ref_hash" and fwd.ref_hash in self.cached:  # "you have this one already"
                    fwd = self.cached[fwd.ref_hash]
                    kind = fwd.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = fwd.new_session.initialize.session_id or self.session_id
                elif kind == "auto_rerun":  # a browser starts a timer that reruns the fragment
                    result.auto_reruns.append((fwd.auto_rerun.interval, fwd.auto_rerun.fragment_id))
                elif kind == "navigation":
                    for p in fwd.navigation.app_pages:
                        self.pages[p.url_pathname] = p.page_script_hash
                elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    self._element(fwd.delta.new_element, fwd.delta.fragment_id, result)
                elif kind == "script_finished":
                    result.status = fwd.script_finished
                    if fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        break
        result.seconds = time.perf_counter() - t0
        if not fragment_id and result.status == ForwardMsg.FINISHED_SUCCESSFULLY:
            # as a browser does: widgets no longer on the page no longer send their state
            self.widgets = {k: v for k, v in self.widgets.items() if k in result.widget_ids}
        return result

    @staticmethod
    def _element(el, fragment_id: str, result: RunResult) -> None:
        kind = el.WhichOneof("type")
        widget = getattr(el, kind, None) if kind else None
        widget_id = getattr(widget, "id", "") if widget is not None else ""
        if isinstance(widget_id, str) and widget_id.startswith("$$ID"):
            result.widgets[widget_id] = (kind, getattr(widget, "label", ""), fragment_id)
            if hasattr(widget, "options"):
                result.options[widget_id] = list(widget.options)
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-") and widget_id.count("-") >= 2:
            result.keyed[widget_id.split("-", 2)[2]] = (widget_id, fragment_id)
            result.widget_ids.add(widget_id)
        if kind == "slider":
            result.sliders[el.slider.label] = (el.slider.id, fragment_id)
        elif kind == "bidi_component":
            user_key = widget_id.split("-", 2)[2] if widget_id.count("-") >= 2 else widget_id
            c = el.bidi_component
            data = {"bytes": len(c.bytes)} if c.WhichOneof("data") == "bytes" else {}
            if c.WhichOneof("data") == "json":
                data = json.loads(c.json)
            result.components[user_key] = data
        elif kind == "alert":
            result.alerts.append(el.alert.body)
        elif kind == "exception":
            result.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif kind == "imgs":
            result.images += 1
            result.captions += [img.caption for img in el.imgs.imgs if img.caption]
            result.image_urls += [img.url for img in el.imgs.imgs if img.url]
