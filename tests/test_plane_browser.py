"""The latent plane in a real Chromium (Playwright): one z whatever moves it, drawn in the right
order, animated paths, and the JS decoder against PyTorch. Saves screenshots of Walk and Encode
at 1280x720, 1920x1080 and 390x844, light and dark (to docs/screenshots when
UPDATE_SCREENSHOTS=1, else to a temporary folder)."""

from pathlib import Path

import numpy as np
import pytest
from browser import ROOT, chromium, chromium_missing_reason, shots_dir, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser]
REASON = chromium_missing_reason()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))

WALK = "walk_plane"
ENC = "enc_plane"
STAR_RGB = (0xFF, 0xD4, 0x00)  # the star's fill in explorer/latent_plane.js


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    env = {"VAE_EXPLORER_RUNS": str(models), "VAE_EXPLORER_MODELS": str(models)}
    with streamlit_server(env=env) as (url, proc, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _context(browser, width=1400, height=1100, **kw):
    ctx = browser.new_context(viewport={"width": width, "height": height}, **kw)
    pg = ctx.new_page()
    pg.errors = []
    pg.sent = []  # websocket messages from the page to the server (BackMsgs: rerun requests)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("websocket", lambda ws: ws.on("framesent", lambda payload: pg.sent.append(len(payload))))
    return ctx, pg


@pytest.fixture
def page(browser):
    ctx, pg = _context(browser)
    yield pg
    ctx.close()
    assert not pg.errors, pg.errors


def plane(page, instance=WALK):
    page.wait_for_function(
        "(k) => window.__latentPlanes && window.__latentPlanes[k] && window.__latentPlanes[k].ready",
        arg=instance,
        timeout=60_000,
    )
    return lambda expr, arg=None: page.evaluate(f"(a) => window.__latentPlanes['{instance}'].{expr}", arg)


def open_walk(page, server):
    page.goto(f"{server}/walk")
    wait_idle(page)
    return plane(page)


def server_z(page) -> str:
    """The server's z, as the page writes it into the address (?z=...), to two decimals."""
    from urllib.parse import parse_qs, urlparse

    z = parse_qs(urlparse(page.url).query).get("z", ["0,0"])[0]
    return fmt(float(v) for v in z.split(","))


def wait_server_z(page, z: str, timeout: float = 20.0) -> None:
    """Wait until the server holds z (formatted as fmt does): its address shows it."""
    import time

    end = time.monotonic() + timeout
    while server_z(page) != z:
        assert time.monotonic() < end, f"the server's z is ({server_z(page)}), not ({z})"
        page.wait_for_timeout(100)


def fmt(z) -> str:
    return ", ".join(f"{v:.2f}" for v in z)


def count_script_runs(page) -> None:
    """From now on, count the messages the page sends to the server (each a rerun request)."""
    page.sent.clear()


def script_runs(page) -> int:
    return len(page.sent)


def shipped(name="fashion-mnist"):
    from vae_core.checkpoint import load_checkpoint

    return load_checkpoint(ROOT / "checkpoints" / f"{name}.safetensors")


def test_js_decoder_matches_pytorch_within_the_float16_tolerance(server, page):
    import torch

    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 1, (150, 2)), rng.uniform(-4, 4, (50, 2))]).astype(np.float32)
    open_walk(page, server)
    js = np.array(page.evaluate(f"(zs) => zs.map((z) => window.__latentPlanes['{WALK}'].decode(z))", z.tolist()))
    with torch.no_grad():
        ref = shipped().model.decode(torch.from_numpy(z)).flatten(1).numpy()
    assert js.shape == ref.shape == (200, 784)
    assert np.abs(js - ref).max() <= 2e-3


def test_click_on_a_test_point_moves_the_one_z_and_python_follows(server, page):
    api = open_walk(page, server)
    ckpt = shipped()
    from vae_core.evaluate import encode

    mu = encode(ckpt.model, ckpt.sample_x())[0].numpy()
    i = int(np.argmax(mu[:, 0]))  # an outlying point: nothing else under the pointer
    count_script_runs(page)
    x, y = api("pointClient(a)", i)
    page.mouse.click(x, y)
    z = api("getZ()")
    assert api("getPick()") == i
    assert np.allclose(z, mu[i], atol=2e-3)  # the means travel as float16
    page.get_by_text(f"Test image #{i}", exact=True).wait_for(timeout=20_000)
    wait_idle(page)
    assert np.allclose(api("getZ()"), z, atol=1e-6)  # the rerun did not pull z elsewhere
    wait_server_z(page, fmt(z))
    assert script_runs(page) >= 1


def test_the_selection_follows_z_when_z_moves_off_the_test_point(server, page):
    api = open_walk(page, server)
    from vae_core.evaluate import encode

    mu = encode(shipped().model, shipped().sample_x())[0].numpy()
    i = int(np.argmax(mu[:, 0]))
    x, y = api("pointClient(a)", i)
    page.mouse.click(x, y)
    page.get_by_text(f"Test image #{i}", exact=True).wait_for(timeout=20_000)
    page.keyboard.press("ArrowLeft")  # z moves off the point by the keyboard
    assert api("getPick()") is None
    page.get_by_text(f"Test image #{i}", exact=True).wait_for(state="detached", timeout=20_000)
    wait_idle(page)
    assert api("getPick()") is None  # the rerun did not bring the old selection back


def test_dragging_runs_no_script_until_release_then_python_has_the_z(server, page):
    api = open_walk(page, server)
    count_script_runs(page)
    box = page.locator(".vp-plane").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 41):
        page.mouse.move(x0 + k * 3, y0 + k * 2)
    page.wait_for_timeout(400)
    assert script_runs(page) == 0  # dragging is the browser's business
    page.mouse.up()
    z = api("getZ()")
    assert z[0] > 0.5 and z[1] < 0
    wait_server_z(page, fmt(z))
    assert script_runs(page) >= 1


def test_a_slider_moves_the_crosshair(server, page):
    api = open_walk(page, server)
    before = api("crosshair()")
    slider = page.locator(".vp-slider input").first
    slider.focus()
    for _ in range(50):
        page.keyboard.press("ArrowRight")
    z = api("getZ()")
    assert z[0] == pytest.approx(0.5, abs=1e-6)
    after = api("crosshair()")
    size = api("canvasSize()")["css"]
    assert after[0] - before[0] > 0.02 * size  # it moved right, on the canvas
    assert after[1] == pytest.approx(before[1], abs=0.5)
    wait_server_z(page, fmt(z))


def test_python_sets_z_and_the_plane_follows(server, page):
    api = open_walk(page, server)
    slider = page.locator(".vp-slider input").nth(1)
    slider.focus()
    for _ in range(30):
        page.keyboard.press("ArrowLeft")
    wait_server_z(page, "0.00, -0.30")
    wait_idle(page)
    page.get_by_role("button", name="Back to the origin").click()
    page.wait_for_function(f"() => window.__latentPlanes['{WALK}'].getZ()[1] === 0", timeout=20_000)
    assert api("getZ()") == [0, 0]


def test_a_path_animates_and_its_frame_strip_follows(server, page):
    api = open_walk(page, server)
    count_script_runs(page)
    page.locator(".vp-path select").select_option("line")
    page.locator(".vp-play").click()
    page.wait_for_timeout(1200)
    frame = api("frame()")
    assert api("playing()") and frame >= 2
    z_playing = api("getZ()")
    page.wait_for_timeout(500)
    assert api("getZ()") != z_playing  # it keeps moving
    assert script_runs(page) == 0  # animation runs no script
    page.locator(".vp-play").click()  # pause: the z where it stopped goes to Python
    z = api("getZ()")
    assert not api("playing()")
    wait_server_z(page, fmt(z))


def _draw_a_one(page):
    canvas = page.locator(".draw canvas")
    canvas.wait_for(timeout=20_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    for i in range(1, 31):
        page.mouse.move(box["x"] + 140, box["y"] + 40 + i * 7)
    page.mouse.up()
    page.get_by_text("what the encoder sees").wait_for(timeout=30_000)
    wait_idle(page)


def _upload_densest_test_image(page, tmp_path):
    """Encode the test image with the most neighbours: its star lands in a dense cluster."""
    from vae_core.evaluate import encode
    from vae_core.manifold import png_bytes

    ckpt = shipped()
    mu = encode(ckpt.model, ckpt.sample_x())[0].numpy()
    near = ((mu[:, None, :] - mu[None, :, :]) ** 2).sum(-1) < 0.15**2
    i = int(near.sum(1).argmax())
    f = tmp_path / "dense.png"
    f.write_bytes(png_bytes((ckpt.sample_images[i][0].numpy() * 255).astype(np.uint8), 4))
    page.goto(f"{page.server}/encode")
    wait_idle(page)
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    page.locator('[data-testid="stMainBlockContainer"] input[type="file"]').set_input_files(str(f))
    page.get_by_text("what the encoder sees").wait_for(timeout=30_000)
    wait_idle(page)


def test_the_star_and_its_ellipse_are_drawn_above_the_points(server, page, tmp_path):
    page.server = server
    _upload_densest_test_image(page, tmp_path)
    api = plane(page, ENC)
    box = page.locator(".vp-plane").bounding_box()
    page.mouse.click(box["x"] + 70, box["y"] + 20)  # the crosshair away: only the star can colour its centre
    page.wait_for_timeout(200)
    sx, sy = api("star()")
    covered = 0
    for dx in range(-4, 5):
        for dy in range(-4, 5):
            if dx * dx + dy * dy > 16:
                continue
            under = api("staticPixelAt(a[0], a[1])", [sx + dx, sy + dy])[:3]  # the points layer
            drawn = api("pixelAt(a[0], a[1])", [sx + dx, sy + dy])[:3]
            assert drawn == list(STAR_RGB), (dx, dy, drawn)
            covered += max(under) - min(under) > 40  # a coloured point there, not the white background
    assert covered > 0  # there were points under the star, and the star is on top of them
    ex, ey = api("starEllipseRight()")
    assert api("pixelAt(a[0], a[1])", [ex - 0.5, ey])[:3] == list(STAR_RGB)  # the ellipse too


def _screens(browser, server, out: Path, scheme: str):
    for w, h in ((1280, 720), (1920, 1080), (390, 844)):
        phone = w < 500
        ctx, pg = _context(
            browser, w, h, color_scheme=scheme, device_scale_factor=2 if phone else 1, has_touch=phone, is_mobile=phone
        )
        suffix = f"{w}x{h}" + ("-dark" if scheme == "dark" else "")
        pg.goto(f"{server}/walk")
        wait_idle(pg)
        api = plane(pg)
        size = api("canvasSize()")
        assert size["backing"] == round(size["css"] * size["dpr"])  # crisp: one backing pixel per device pixel
        assert size["css"] <= w  # fits the screen's width
        ckpt = shipped()
        from vae_core.evaluate import encode

        mu = encode(ckpt.model, ckpt.sample_x())[0].numpy()
        i = int(np.argmax(mu[:, 1]))
        x, y = api("pointClient(a)", i)
        if phone:
            pg.touchscreen.tap(x, y)
        else:
            pg.mouse.click(x, y)
        pg.get_by_text(f"Test image #{i}", exact=True).wait_for(timeout=20_000)
        wait_idle(pg)
        assert api("getPick()") == i
        pg.locator(".vp-path select").select_option("line")
        pg.locator(".vp-path input[type=number]").nth(1).fill("5")
        pg.locator(".vp-path input[type=number]").nth(1).press("Enter")
        pg.wait_for_timeout(200)
        pg.screenshot(path=str(out / f"walk-{suffix}.png"))
        pg.locator(".vp-strip").scroll_into_view_if_needed()
        pg.wait_for_timeout(200)
        pg.screenshot(path=str(out / f"walk-{suffix}-path.png"))
        pg.goto(f"{server}/encode")
        wait_idle(pg)
        _draw_a_one(pg)
        plane(pg, ENC)
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(out / f"encode-{suffix}.png"))
        pg.locator(".vp-plane").scroll_into_view_if_needed()
        pg.wait_for_timeout(200)
        pg.screenshot(path=str(out / f"encode-{suffix}-plane.png"))
        assert not pg.errors, pg.errors
        ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_walk_and_encode(server, browser, tmp_path, scheme):
    _screens(browser, server, shots_dir(tmp_path), scheme)


def test_markers_are_visible_in_dark_mode(server, browser):
    ctx, pg = _context(browser, color_scheme="dark")
    api = open_walk(pg, server)
    x, y = api("crosshair()")
    bg = api("staticPixelAt(a[0], a[1])", [x + 40, y + 300])  # empty plane, far from the points
    ring = api("pixelAt(a[0], a[1])", [x + 18, y])  # on the crosshair's ring
    assert sum(bg[:3]) < 150  # the plane follows the dark theme
    assert sum(ring[:3]) > 500  # and the crosshair is light on it
    ctx.close()
