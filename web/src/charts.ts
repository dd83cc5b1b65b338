import uPlot from "uplot";

export interface Series {
  label: string;
  values: Array<number | null>;
  stroke: string;
}

/**
 * A time-series line chart (uPlot, bundled; loaded only with the Quality page). `times` are
 * seconds since the epoch, `span` the window shown. Resizes with its container, down to a phone's width.
 */
export function lineChart(
  target: HTMLElement,
  title: string,
  span: [number, number],
  times: number[],
  series: Series[],
  yRange?: [number, number],
): () => void {
  const width = () => Math.max(280, target.clientWidth || 600);
  const chart = new uPlot(
    {
      title,
      width: width(),
      height: 220,
      // The whole window, not just the buckets that have answers: one busy hour must not fill the chart.
      scales: { x: { time: true, range: span }, ...(yRange ? { y: { range: yRange } } : {}) },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          spanGaps: true,
          points: { show: true, size: 5 },
        })),
      ],
      axes: [{}, { size: 56 }],
    },
    [times, ...series.map((s) => s.values)],
    target,
  );
  const observer = new ResizeObserver(() => chart.setSize({ width: width(), height: 220 }));
  observer.observe(target);
  return () => {
    observer.disconnect();
    chart.destroy();
  };
}
