"""Charts drawn on the server: plain SVG geometry, no JavaScript."""

from ..queries import Activity


def bar_chart(activity: Activity, width: int = 600, height: int = 90) -> dict:
    """Bar geometry for a small server-rendered SVG: all runs, failed runs in front."""
    n = len(activity.buckets) or 1
    step = width / n
    peak = activity.peak or 1
    bars = []
    for i, bucket in enumerate(activity.buckets):
        total_h = round(height * bucket.total / peak, 1)
        failed_h = round(height * bucket.failed / peak, 1)
        bars.append(
            {
                "x": round(i * step, 1),
                "w": round(max(step - 1, 1), 1),
                "total_y": round(height - total_h, 1),
                "total_h": total_h,
                "failed_y": round(height - failed_h, 1),
                "failed_h": failed_h,
                "bucket": bucket,
            }
        )
    return {"width": width, "height": height, "bars": bars, "peak": activity.peak}
