import Foundation
import Tabular
import Testing

@testable import Training

extension SoftmaxRidgeTests {
    @Test("binary logistic regression with balanced class weights matches LogisticRegression(class_weight=\"balanced\")")
    func weightedLogisticMatchesScikitLearn() throws {
        let c = try SoftmaxRidgeFixture.named("logistic_balanced")
        let classes = try #require(c.classes)
        let labels = LabelEncoding(column: "y", negative: classes[0], positive: classes[1])
        #expect(try LabelEncoding.infer(from: c.table, column: "y", positive: nil) == labels)
        let outcome = try LogisticRegressionTrainer.fit(
            c.table, features: c.features, labels: labels,
            options: .init(l2: c.l2, maxIterations: 10_000, classWeights: .balanced))
        #expect(outcome.converged)
        let model = outcome.model
        let layer = DenseLayer(inputs: model.coefficients.count, outputs: 1, weights: model.coefficients, bias: [model.intercept])
        try check(layer, model.preprocessor, c, task: .binary, tolerance: 1e-6)
        // The model's own scoring agrees with the general prediction.
        let scores = try model.predictProbabilities(c.table)
        for (r, p) in scores.enumerated() { #expect(abs(p - c.predictions[2 * r + 1]) <= 1e-6) }
    }

    @Test("class weights of 1 leave binary logistic regression bit for bit unchanged")
    func unitClassWeightsChangeNothing() throws {
        let c = try SoftmaxRidgeFixture.named("logistic_balanced")
        let labels = LabelEncoding(column: "y", negative: "no", positive: "yes")
        let plain = try LogisticRegressionTrainer.fit(c.table, features: c.features, labels: labels, options: .init())
        let ones = try LogisticRegressionTrainer.fit(
            c.table, features: c.features, labels: labels, options: .init(classWeights: .explicit(["no": 1, "yes": 1])))
        #expect(plain.model == ones.model)
        #expect(plain.iterations == ones.iterations)
    }
}
