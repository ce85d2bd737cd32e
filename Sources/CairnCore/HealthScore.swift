public import Foundation

public enum HealthBand: String, Sendable, Hashable, Codable, CaseIterable {
    case green, yellow, red
}

/// One part of a health score, with the reason it has the value it has.
public struct HealthComponent: Sendable, Hashable, Codable {
    public var name: String
    /// 0–100.
    public var score: Int
    /// Share of the total score, 0–1.
    public var weight: Double
    public var reason: String

    public init(name: String, score: Int, weight: Double, reason: String) {
        self.name = name
        self.score = score
        self.weight = weight
        self.reason = reason
    }
}

public struct HealthScore: Sendable, Hashable, Codable {
    public var score: Int
    public var band: HealthBand
    public var components: [HealthComponent]
    public var explanation: String
    public var evaluatedAt: Date
    /// The band before the latest band change (nil before the first change).
    public var previousBand: HealthBand?
    /// The evaluation time of the latest band change (the first evaluation's time until one happens).
    public var bandChangedAt: Date?

    public init(
        score: Int, band: HealthBand, components: [HealthComponent], explanation: String, evaluatedAt: Date,
        previousBand: HealthBand? = nil, bandChangedAt: Date? = nil
    ) {
        self.score = score
        self.band = band
        self.components = components
        self.explanation = explanation
        self.evaluatedAt = evaluatedAt
        self.previousBand = previousBand
        self.bandChangedAt = bandChangedAt
    }
}

/// An account's health on one day (since 1970): the last evaluation of that day.
public struct HealthDay: Sendable, Hashable {
    public var day: Int
    public var score: Int
    public var band: HealthBand

    public init(day: Int, score: Int, band: HealthBand) {
        self.day = day
        self.score = score
        self.band = band
    }
}
