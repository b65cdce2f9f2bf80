using GpuAe.Kernels;
using ILGPU.Runtime;

namespace GpuAe.Nets.Diagnostics;

/// <summary>One operation of a training step on the device: the backend call, its sizes, and its device time.</summary>
public sealed record TimelineEntry(string Operation, double Microseconds);

/// <summary>
/// Where the device spends a training step: a profiling marker (on CUDA an event, timed by the GPU itself) after every
/// backend call of the step (<see cref="ILaunchTimeline.Launched"/>), so that the time between two markers is that call's kernels plus the gap before them.
/// Per-kernel benchmarks time each kernel alone, repeated; this times them in the order and with the data of a real
/// step. The measured steps are queued behind a backlog of unmarked ones so that the host, slowed by the markers, is
/// still ahead of the device: the gaps are then the device's own.
/// </summary>
public static class Timeline
{
    public static IReadOnlyList<TimelineEntry> Step(IBackend backend, string kind, int batch = 128, int steps = 20)
    {
        var timeline = backend as ILaunchTimeline ?? throw new ArgumentException($"{backend.DeviceName} has no launch timeline");
        var marks = new List<(string Operation, ProfilingMarker Marker)>();
        bool marking = false;
        timeline.Launched = operation => { if (marking) marks.Add((operation, timeline.AddProfilingMarker())); };
        try { return Measure(timeline, backend, kind, batch, steps, marks, () => marking = true); }
        finally { timeline.Launched = null; }
    }

    static IReadOnlyList<TimelineEntry> Measure(ILaunchTimeline timeline, IBackend backend, string kind, int batch, int steps,
        List<(string Operation, ProfilingMarker Marker)> marks, Action startMarking)
    {
        var runStep = Bench.SyntheticStep(backend, kind, batch);
        long step = 0;
        void RunStep() => runStep(++step);
        for (int i = 0; i < 40; i++) RunStep(); // compile, warm up
        backend.Synchronize();
        for (int i = 0; i < 40; i++) RunStep(); // the backlog
        startMarking();
        var perStep = new List<List<(string, ProfilingMarker)>>();
        for (int s = 0; s < steps; s++)
        {
            marks.Add(("start", timeline.AddProfilingMarker()));
            RunStep();
            perStep.Add([.. marks]);
            marks.Clear();
        }
        backend.Synchronize();
        // The median over the steps of each operation's time (the first marker of a step only opens it).
        var first = perStep[0];
        var entries = new List<TimelineEntry>();
        for (int i = 1; i < first.Count; i++)
        {
            var times = perStep.Select(m => m[i].Item2.MeasureFrom(m[i - 1].Item2).TotalMicroseconds).Order().ToArray();
            entries.Add(new(first[i].Item1, times[times.Length / 2]));
        }
        foreach (var m in perStep.SelectMany(m => m)) m.Item2.Dispose();
        return entries;
    }
}
