using GpuAe.Kernels;
using GpuAe.Nets.Diagnostics;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

public class TimelineTests
{
    /// <summary>The timeline lists every launching backend call of an AE step in the order the model makes them (the
    /// batch's gather, the GEMMs of its four layers forward, the loss, the GEMMs backward, the batch-loss sum, Adam), each timed.</summary>
    [Fact]
    public void ListsEveryOperationOfAnAeStepInOrderWithItsDeviceTime()
    {
        var backend = (IlgpuBackend)TestBackends.Get("cpu");
        var entries = Timeline.Step(backend, "ae", batch: 4, steps: 3);
        string[] expected =
        [
            "gather rows 4×784", "dense forward 4×784→256", "dense forward 4×256→32", "dense forward 4×32→256", "dense forward 4×256→784",
            "sigmoid + BCE + gradient 4×784", "accumulate sum 4",
            "dense backward dW, db 4×256→784", "dense backward dX 4×256→784",
            "dense backward dW, db 4×32→256", "dense backward dX 4×32→256",
            "dense backward dW, db 4×256→32", "dense backward dX 4×256→32",
            "dense backward dW, db 4×784→256",
        ];
        Assert.Equal(expected, entries.Take(expected.Length).Select(e => e.Operation));
        Assert.StartsWith("Adam ", entries[^1].Operation);
        Assert.Equal(expected.Length + 1, entries.Count);
        Assert.All(entries, e => Assert.True(e.Microseconds >= 0, $"{e.Operation}: {e.Microseconds} µs"));
        // The big GEMMs take longer than the batch-loss sum of 4 values on any device: the fastest of three timelines each,
        // so that a time slice lost to another process (the suite runs in parallel) cannot turn it round.
        var timelines = new[] { entries, Timeline.Step(backend, "ae", batch: 4, steps: 3), Timeline.Step(backend, "ae", batch: 4, steps: 3) };
        Assert.True(timelines.Min(t => t[1].Microseconds) > timelines.Min(t => t.Single(e => e.Operation == "accumulate sum 4").Microseconds),
            string.Join("; ", timelines.Select(t => $"{t[1].Microseconds} against {t.Single(e => e.Operation == "accumulate sum 4").Microseconds} µs")));
    }
}
