using GpuAe.Kernels;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>How often the classifier sees the class a conditional model was asked for: <paramref name="perClass"/>
/// samples z ~ N(0, I) (counter generator keyed by <paramref name="seed"/>) decoded for each class, classified, and
/// the share recognised per class and overall.</summary>
public static class ConditionalGeneration
{
    public sealed record Recognition(double[] PerClass, double Overall, int Samples);

    public static Recognition Recognised(IBackend backend, IModel model, Classifier classifier, int perClass, ulong seed)
    {
        int classes = (model as ISupervised)?.TargetWidth is > 0 and var width ? width
            : throw new ArgumentException($"a {model.Kind} is not conditioned on a class");
        int count = classes * perClass;
        var asked = Enumerable.Range(0, count).Select(i => i / perClass).ToArray();
        var images = Inference.Decode(backend, model, Inference.PriorLatents(count, model.LatentSize, seed), count, asked);
        var seen = Inference.Predict(backend, classifier, images, count);
        var perClassHits = new double[classes];
        for (int i = 0; i < count; i++) if (seen[i] == asked[i]) perClassHits[asked[i]]++;
        return new Recognition([.. perClassHits.Select(h => h / perClass)], perClassHits.Sum() / count, count);
    }
}
