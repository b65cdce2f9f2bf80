namespace GpuAe.Simd;

/// <summary>
/// The SIMD backend's threads: the caller runs block 0 of a parallel loop and fixed worker threads run blocks 1…N−1.
/// A training step is ~30 short loops back to back (a 32-row GEMM takes 10–20 µs), and Parallel.For spent 6–12 µs
/// per loop handing work to the thread pool and waiting for it (measured on the 2-core development machine). A
/// worker here spins on a generation counter for a while after each loop, so the next loop starts in well under a
/// microsecond; after ~1 ms with no work it sleeps on a semaphore and the next loop wakes it.
/// Which thread runs which block is fixed (block i on thread i), so anything a block computes does not depend on
/// scheduling.
/// </summary>
public sealed class Workers : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim[] _wake;
    readonly int[] _sleeping;                 // 1 while worker i is (about to be) blocked on _wake[i]
    Action<int> _body = _ => { };
    int _blocks, _pending, _generation;
    volatile bool _stopping;
    Exception? _failure;

    /// <param name="threads">threads in all, the caller included</param>
    public Workers(int threads)
    {
        Count = Math.Max(1, threads);
        _threads = new Thread[Count - 1];
        _wake = new SemaphoreSlim[Count - 1];
        _sleeping = new int[Count - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _wake[i] = new SemaphoreSlim(0);
            int index = i;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"gpuae simd worker {i + 1}" };
            _threads[i].Start();
        }
    }

    public int Count { get; }

    /// <summary>Runs body(0) … body(blocks − 1), block 0 on the calling thread, and returns when all have finished;
    /// rethrows the first exception a block threw. Not reentrant: one loop at a time.</summary>
    public void Run(int blocks, Action<int> body)
    {
        if (blocks > Count) throw new ArgumentOutOfRangeException(nameof(blocks), $"{blocks} blocks for {Count} threads");
        if (blocks <= 1) { if (blocks == 1) body(0); return; }
        _body = body;
        _blocks = blocks;
        _failure = null;
        Volatile.Write(ref _pending, blocks - 1);
        Interlocked.Increment(ref _generation);                 // publishes _body and _blocks to the spinning workers
        for (int i = 0; i < blocks - 1; i++)
            if (Interlocked.CompareExchange(ref _sleeping[i], 0, 1) == 1) _wake[i].Release();
        try { body(0); }
        finally
        {
            var wait = new SpinWait();
            while (Volatile.Read(ref _pending) != 0) wait.SpinOnce(sleep1Threshold: -1);
        }
        if (_failure is { } failure) throw new AggregateException(failure);
    }

    void Loop(int index)
    {
        int seen = 0;
        while (true)
        {
            int generation = WaitForWork(index, seen);
            if (_stopping) return;
            seen = generation;
            if (index + 1 < _blocks)
            {
                try { _body(index + 1); }
                catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    int WaitForWork(int index, int seen)
    {
        long spinUntil = Environment.TickCount64 + 1;          // ~1 ms of spinning at most before sleeping
        int spins = 0;
        while (true)
        {
            int generation = Volatile.Read(ref _generation);
            if (generation != seen || _stopping) return generation;
            if (++spins < 20_000 || Environment.TickCount64 <= spinUntil) { Thread.SpinWait(8); continue; }
            Interlocked.Exchange(ref _sleeping[index], 1);          // a full fence: the read below cannot pass it
            generation = Volatile.Read(ref _generation);
            if (generation != seen || _stopping)
            {
                // Work arrived while going to sleep: take back the flag, or consume the wake-up the caller already sent.
                if (Interlocked.CompareExchange(ref _sleeping[index], 0, 1) != 1) _wake[index].Wait();
                return generation;
            }
            _wake[index].Wait();
            spins = 0;
            spinUntil = Environment.TickCount64 + 1;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        for (int i = 0; i < _threads.Length; i++)
            if (Interlocked.CompareExchange(ref _sleeping[i], 0, 1) == 1) _wake[i].Release();
        foreach (var t in _threads) t.Join();
        foreach (var w in _wake) w.Dispose();
    }
}
