namespace GpuAe.Simd;

/// <summary>
/// The SIMD backend's threads: the caller and fixed worker threads share the blocks of a parallel loop. A training step
/// is ~30 short loops back to back (a 32-row GEMM takes 10–20 µs), and Parallel.For spent 6–12 µs per loop handing work
/// to the thread pool and waiting for it (measured on the 2-core development machine). A worker here spins on the loop
/// counter for ~1 ms after each loop, so the next loop starts in well under a microsecond, and then sleeps on a
/// semaphore until a loop wakes it. Blocks are claimed from a shared counter, the caller included, so a worker the
/// operating system has not scheduled (a busy machine) delays nothing: the caller runs its blocks. A block's work
/// must depend only on its index (scratch memory included), never on the thread that runs it.
/// </summary>
public sealed class Workers : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim[] _wake;
    readonly int[] _sleeping;                 // 1 while worker i is (about to be) blocked on _wake[i]
    Action<int> _body = _ => { };
    int _blocks, _finished;
    long _state;                              // the loop's number (high 32 bits) and its next unclaimed block (low 32)
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

    /// <summary>Runs body(0) … body(blocks − 1), each once, on the calling thread and the workers, and returns when all
    /// have finished; rethrows the first exception a block threw. Not reentrant: one loop at a time.</summary>
    public void Run(int blocks, Action<int> body)
    {
        if (blocks <= 1) { if (blocks == 1) body(0); return; }
        _body = body;
        _blocks = blocks;
        _failure = null;
        Volatile.Write(ref _finished, 0);
        int loop = LoopNumber + 1;
        Interlocked.Exchange(ref _state, (long)loop << 32);    // publishes _body and _blocks with the new loop number
        for (int i = 0; i < Math.Min(blocks - 1, _threads.Length); i++)
            if (Interlocked.CompareExchange(ref _sleeping[i], 0, 1) == 1) _wake[i].Release();
        Work(loop);
        var wait = new SpinWait();
        while (Volatile.Read(ref _finished) != blocks) wait.SpinOnce(sleep1Threshold: -1);
        if (_failure is { } failure) throw new AggregateException(failure);
    }

    /// <summary>Claims and runs blocks of loop <paramref name="loop"/> until none is left (or another loop began).</summary>
    void Work(int loop)
    {
        while (true)
        {
            long state = Volatile.Read(ref _state);
            int block = (int)state;
            if ((int)(state >> 32) != loop || block >= _blocks) return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;
            // A successful claim means loop `loop` is unfinished, so _body is still its body.
            try { _body(block); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            Interlocked.Increment(ref _finished);
        }
    }

    void Loop(int index)
    {
        int seen = 0;
        while (true)
        {
            int loop = WaitForLoop(index, seen);
            if (_stopping) return;
            seen = loop;
            Work(loop);
        }
    }

    int LoopNumber => (int)(Volatile.Read(ref _state) >> 32);

    int WaitForLoop(int index, int seen)
    {
        long spinUntil = Environment.TickCount64 + 1;          // ~1 ms of spinning at most before sleeping
        var spin = new SpinWait();
        while (true)
        {
            int loop = LoopNumber;
            if (loop != seen || _stopping) return loop;
            if (Environment.TickCount64 <= spinUntil) { spin.SpinOnce(sleep1Threshold: -1); continue; }
            Interlocked.Exchange(ref _sleeping[index], 1);          // a full fence: the read below cannot pass it
            loop = LoopNumber;
            if (loop != seen || _stopping)
            {
                // Work arrived while going to sleep: take back the flag, or consume the wake-up the caller already sent.
                if (Interlocked.CompareExchange(ref _sleeping[index], 0, 1) != 1) _wake[index].Wait();
                return loop;
            }
            _wake[index].Wait();
            spin.Reset();
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
