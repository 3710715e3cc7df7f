"""A minimal Streamlit protocol client: what a browser tab sends and receives, without the browser.

It speaks the app's own websocket protocol (Streamlit's protobuf BackMsg / ForwardMsg on
/_stcore/stream), so a 2-core machine can drive many sessions at once and the load lands on
the server, not on twenty headless renderers. Used by bench/load_test.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates


class RunResult:
    def __init__(self) -> None:
        self.sliders: dict[str, tuple[str, str]] = {}  # label -> (widget id, fragment id or "")
        self.exceptions: list[str] = []
        self.images = 0
        self.captions: list[str] = []
        self.image_urls: list[str] = []  # /media/... paths of the images drawn
        self.widgets: dict[str, tuple[str, str, str]] = {}  # widget id -> (element type, label, fragment id)
        self.options: dict[str, list[str]] = {}  # widget id -> its options as shown (radio, selectbox, ...)
        self.status: int | None = None
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

    async def __aenter__(self) -> StreamlitClient:
        import websockets

        self.ws = await websockets.connect(
            self.ws_url, subprotocols=["streamlit"], max_size=2**28, additional_headers=self.headers
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    def set_slider(self, widget_id: str, value: float) -> None:
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
                if kind == "new_session":
                    self.session_id = fwd.new_session.initialize.session_id or self.session_id
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
        return result

    @staticmethod
    def _element(el, fragment_id: str, result: RunResult) -> None:
        kind = el.WhichOneof("type")
        widget_id = getattr(getattr(el, kind), "id", "") if kind else ""
        if isinstance(widget_id, str) and widget_id.startswith("$$ID"):
            inner = getattr(el, kind)
            result.widgets[widget_id] = (kind, getattr(inner, "label", ""), fragment_id)
            if hasattr(inner, "options"):
                result.options[widget_id] = list(inner.options)
        if kind == "slider":
            result.sliders[el.slider.label] = (el.slider.id, fragment_id)
        elif kind == "exception":
            result.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif kind == "imgs":
            result.images += 1
            result.captions += [img.caption for img in el.imgs.imgs if img.caption]
            result.image_urls += [img.url for img in el.imgs.imgs if img.url]
