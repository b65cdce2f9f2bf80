using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// The numbers that change from one training step to the next (the step, the batch's first row in the shuffled order,
/// Adam's bias corrections), kept in device memory, for a step recorded once and replayed as a CUDA graph: a replay
/// repeats its launches' arguments, so whatever changes per step has to be read on the device when the kernels run.
/// The host writes an epoch's values once, as a schedule of entries; a one-thread launch at the start of every step,
/// <see cref="Begin"/>, copies the next entry into the record that the step's kernels read.
/// </summary>
/// <remarks>Record layout (ints): the cursor (the schedule entry the next step takes), then one entry: the step, the
/// first row, and the two bias corrections as float bits. Steps are ints here, as in the NaN flag: 2³¹ steps are
/// 280,000 epochs of Fashion-MNIST.</remarks>
public static class StepRecord
{
    public const int Cursor = 0, Step = 1, FirstRow = 2, BiasCorrection1 = 3, BiasCorrection2 = 4, Length = 5;

    /// <summary>Ints per schedule entry: the record without its cursor.</summary>
    public const int EntryLength = Length - 1;

    /// <summary>Writes entry <paramref name="index"/> of a schedule: one step's numbers.</summary>
    public static void WriteEntry(Span<int> schedule, int index, long step, int firstRow, AdamStep adam)
    {
        var entry = schedule.Slice(index * EntryLength, EntryLength);
        entry[Step - 1] = checked((int)step);
        entry[FirstRow - 1] = firstRow;
        entry[BiasCorrection1 - 1] = BitConverter.SingleToInt32Bits(adam.BiasCorrection1);
        entry[BiasCorrection2 - 1] = BitConverter.SingleToInt32Bits(adam.BiasCorrection2);
    }

    /// <summary>record ← schedule entry record[Cursor], and the cursor moves on. One thread: a step's first launch.</summary>
    public static void Begin(Index1D thread, ArrayView<int> schedule, ArrayView<int> record) =>
        Advance(new ViewElements<int>(schedule), new ViewElements<int>(record));

    /// <summary>What <see cref="Begin"/> does, on the device or (the SIMD backend) on the host.</summary>
    public static void Advance<TInts>(TInts schedule, TInts record) where TInts : struct, IElements<int>
    {
        int entry = record[Cursor];
        for (int f = 0; f < EntryLength; f++) record[1 + f] = schedule[entry * EntryLength + f];
        record[Cursor] = entry + 1;
    }
}

/// <summary>The kernels' side of a <see cref="StepValue"/>: the number given at launch, or (Field ≥ 0) the record field
/// to read instead.</summary>
public struct StepNumber
{
    public long Value;
    public int Field;

    public readonly long In(ArrayView<int> record) => In(new ViewElements<int>(record));

    /// <summary>The number, from the launch or the record (on the device or the host).</summary>
    public readonly long In<TInts>(TInts record) where TInts : struct, IElements<int> => Field < 0 ? Value : record[Field];
}
