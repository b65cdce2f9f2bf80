using System.Text.Json;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using GpuAe.Nets;
using Spectre.Console;

namespace GpuAe.Cli;

/// <summary>--quiet: nothing but errors.</summary>
sealed class QuietReporter : ITrainingReporter
{
    public void Message(string text) { }
    public void Progress(StepProgress progress) { }
    public void EpochDone(ModelKind model, int epochs, EpochMetrics metrics) { }
}

/// <summary>--json: one JSON object per line and per epoch, for scripts.</summary>
sealed class JsonReporter(TextWriter output) : ITrainingReporter
{
    public void Message(string text) { }
    public void Progress(StepProgress progress) { }
    public void EpochDone(ModelKind model, int epochs, EpochMetrics m)
    {
        var record = new Dictionary<string, object>
        {
            ["model"] = model.Name, ["epoch"] = m.Epoch, ["epochs"] = epochs, ["seconds"] = m.Seconds, ["train_loss"] = m.TrainLoss, ["test_loss"] = m.TestLoss,
            ["test_bce"] = m.TestBce, ["test_kl"] = m.TestKl, ["test_mse"] = m.TestMse,
        };
        if (m.Adversarial is { } a)
            foreach (var (name, value) in AdversarialMetrics.Columns.Zip(a.Numbers)) record[name] = value;
        output.WriteLine(JsonSerializer.Serialize(record));
    }
}

/// <summary>A live progress bar per epoch (steps/s, running loss) for a person at a terminal.</summary>
sealed class ProgressBarReporter(ProgressContext context, int rowsPerEpoch) : ITrainingReporter
{
    ProgressTask? _task;

    public void Message(string text) => AnsiConsole.MarkupLine(Markup.Escape(text));

    public void Progress(StepProgress p)
    {
        _task ??= context.AddTask($"epoch {p.Epoch}", maxValue: rowsPerEpoch);
        _task.Value = p.RowsDone;
        _task.Description = Markup.Escape($"epoch {p.Epoch}: loss {p.RunningLoss:F2}, {p.StepsPerSecond:F1} steps/s");
    }

    public void EpochDone(ModelKind model, int epochs, EpochMetrics m)
    {
        _task ??= context.AddTask("", maxValue: rowsPerEpoch);
        _task.Value = rowsPerEpoch;
        // Short enough for an 80-column terminal next to the bar; the full line is in metrics.csv.
        _task.Description = Markup.Escape(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{model} {m.Epoch}/{epochs}: test loss {m.TestLoss:F2}, MSE {m.TestMse:F4}, {m.Seconds:F1} s"));
        _task.StopTask();
        _task = null;
    }

    /// <summary>Runs <paramref name="train"/> under a live display when stdout is a terminal, else with plain lines.</summary>
    public static T Run<T>(TextWriter stdout, bool quiet, bool json, int rowsPerEpoch, Func<ITrainingReporter, T> train)
    {
        if (quiet) return train(new QuietReporter());
        if (json) return train(new JsonReporter(stdout));
        if (Console.IsOutputRedirected || stdout != Console.Out) return train(new LineReporter(stdout));
        return AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context => train(new ProgressBarReporter(context, rowsPerEpoch)));
    }
}
