using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

/// <summary>The step record: BeginStep against a plain C# reference, and every kernel that reads a per-step number from
/// the record giving what it gives with the number as a launch argument.</summary>
public class StepRecordTests
{
    /// <summary>The reference: the record's fields after BeginStep are the schedule's entry at the cursor, and the
    /// cursor has moved on by one.</summary>
    static int[] BeginStepReference(int[] schedule, int[] record)
    {
        var next = (int[])record.Clone();
        int entry = record[StepRecord.Cursor];
        Array.Copy(schedule, entry * StepRecord.EntryLength, next, 1, StepRecord.EntryLength);
        next[StepRecord.Cursor] = entry + 1;
        return next;
    }

    /// <summary>A schedule of three steps (7, 8, 9) whose entries differ in every field.</summary>
    static int[] Schedule(out AdamStep[] adam)
    {
        var schedule = new int[3 * StepRecord.EntryLength];
        adam = new AdamStep[3];
        for (int k = 0; k < 3; k++)
        {
            adam[k] = AdamStep.At(7 + k, 1e-2f);
            StepRecord.WriteEntry(schedule, k, 7 + k, 5 * k + 1, adam[k]);
        }
        return schedule;
    }

    static (IndexTensor Schedule, IndexTensor Record) Upload(IBackend be, int[] schedule)
    {
        var s = be.AllocateIndices(schedule.Length);
        be.Upload(s, schedule);
        return (s, be.AllocateIndices(StepRecord.Length));
    }

    static int[] Down(IBackend be, IndexTensor t)
    {
        var values = new int[t.Length];
        be.Download(t, values);
        return values;
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void BeginStepCopiesTheNextEntryAndMovesTheCursor(string backend)
    {
        var be = TestBackends.Get(backend);
        var schedule = Schedule(out _);
        var (s, r) = Upload(be, schedule);
        var expected = new int[StepRecord.Length];
        for (int k = 0; k < 3; k++)
        {
            be.BeginStep(s, r);
            expected = BeginStepReference(schedule, expected);
            Assert.Equal(expected, Down(be, r));
        }
        Assert.Equal([3, 9, 11], Down(be, r)[..3]); // cursor past the last entry; step 9 starts at row 11
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void GatherAndNoiseReadTheirNumbersFromTheRecord(string backend)
    {
        var be = TestBackends.Get(backend);
        var (s, r) = Upload(be, Schedule(out _));
        be.BeginStep(s, r);
        be.BeginStep(s, r); // step 8, first row 6
        const int count = 12, cols = 5, rows = 3;
        var data = be.Up(Values.Random(count * cols, 3));
        var order = be.AllocateIndices(count);
        be.Upload(order, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        Tensor Gather(StepValue start)
        {
            var batch = be.Allocate(rows * cols);
            be.GatherRows(data, order, start, rows, cols, batch);
            return batch;
        }
        Assert.Equal(be.Down(Gather(6)), be.Down(Gather(new StepValue(999, r, StepRecord.FirstRow))));
        Assert.NotEqual(be.Down(Gather(5)), be.Down(Gather(new StepValue(999, r, StepRecord.FirstRow))));
        Tensor Noise(StepValue step)
        {
            var noise = be.Allocate(40);
            be.NormalNoise(noise, 11, step);
            return noise;
        }
        Assert.Equal(be.Down(Noise(8)), be.Down(Noise(new StepValue(999, r, StepRecord.Step))));
        Assert.NotEqual(be.Down(Noise(7)), be.Down(Noise(new StepValue(999, r, StepRecord.Step))));
    }

    /// <summary>Adam through the record updates exactly as with the step's bias corrections given at launch, and the
    /// NaN watch records the record's step, not the launch's.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void AdamReadsBiasCorrectionsAndTheWatchedStepFromTheRecord(string backend)
    {
        var be = TestBackends.Get(backend);
        var (s, r) = Upload(be, Schedule(out var adam));
        be.BeginStep(s, r); // step 7
        const int n = 1003; // past whole vectors, so the vector and scalar paths of each backend both run
        var p0 = Values.Random(n, 4); var g = Values.Random(n, 5); var m0 = Values.Random(n, 6, 0.1f); var v0 = Values.Uniform01(n, 7);
        (float[] P, float[] M, float[] V, int Flag) Run(AdamStep step, IndexTensor? record, long watchStep)
        {
            var p = be.Up(p0); var m = be.Up(m0); var v = be.Up(v0);
            var sums = be.Up([float.NaN]);
            var flag = be.AllocateIndices(1);
            be.Adam(p, be.Up(g), m, v, step, new NonFiniteWatch(sums, 0, flag, watchStep), record);
            return (be.Down(p), be.Down(m), be.Down(v), Down(be, flag)[0]);
        }
        var launched = Run(adam[0], null, 7);
        var recorded = Run(AdamStep.At(1000, 1e-2f), r, 1000); // the launch's numbers are ignored
        Assert.Equal(launched.P, recorded.P);
        Assert.Equal(launched.M, recorded.M);
        Assert.Equal(launched.V, recorded.V);
        Assert.Equal(7, recorded.Flag);
        Assert.NotEqual(launched.P, Run(adam[1], null, 8).P); // a different step's corrections would show
    }
}
