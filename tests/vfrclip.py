"""A variable-frame-rate test clip, made with the FFmpeg binary of imageio-ffmpeg (a test
dependency), and FFmpeg's own reading of its frame times to check ours against."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

#: 10 frames 0.1 s apart, then 0.4 s apart: the average rate (about 4.3 fps) misplaces them.
SETPTS = "setpts='if(lt(N,10),N*0.1,1.0+(N-10)*0.4)/TB'"


def make_vfr_clip(path: Path, frames: int = 20) -> list[float]:
    """Write a variable-frame-rate MP4; return FFmpeg's presentation times (ms) of its frames."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=160x120:rate=10", "-frames:v", str(frames), "-vf", SETPTS,
                    "-fps_mode", "passthrough", "-c:v", "mpeg4", "-q:v", "5", str(path)],
                   check=True, timeout=60)
    info = subprocess.run([ffmpeg, "-hide_banner", "-i", str(path), "-vf", "showinfo", "-f",
                           "null", "-"], capture_output=True, text=True, timeout=60).stderr
    return [float(t) * 1000 for t in re.findall(r"pts_time:([0-9.]+)", info)]
